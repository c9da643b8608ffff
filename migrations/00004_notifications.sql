-- +goose Up
-- Run notices for webhooks (one SQL for PostgreSQL and SQLite): the
-- receivers, a durable outbox written with each run's final record, and the
-- log of every delivery attempt. The signing secret is sealed with the
-- server's secret key, like the LDAP bind password.
CREATE TABLE webhooks (
    id                       VARCHAR(36)   PRIMARY KEY,
    name                     VARCHAR(128)  NOT NULL,
    url                      VARCHAR(2048) NOT NULL,
    secret_enc               TEXT          NOT NULL,
    on_run_failed            BOOLEAN       NOT NULL DEFAULT FALSE,
    on_safety_stop           BOOLEAN       NOT NULL DEFAULT FALSE,
    on_succeeded_with_errors BOOLEAN       NOT NULL DEFAULT FALSE,
    on_succeeded             BOOLEAN       NOT NULL DEFAULT FALSE,
    enabled                  BOOLEAN       NOT NULL DEFAULT TRUE,
    created_at               TIMESTAMP     NOT NULL,
    updated_at               TIMESTAMP     NOT NULL,
    updated_by               VARCHAR(64)   NOT NULL DEFAULT ''
);

-- One notice per run and webhook (the UNIQUE key): the instance that records
-- a run's end enqueues it in the same transaction, so a cluster sends it once.
CREATE TABLE notification_outbox (
    id              VARCHAR(36) PRIMARY KEY,
    webhook_id      VARCHAR(36) NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    run_id          VARCHAR(36) NOT NULL REFERENCES job_runs (id),
    event           VARCHAR(32) NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP   NOT NULL,
    created_at      TIMESTAMP   NOT NULL,
    UNIQUE (webhook_id, run_id)
);
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at);

CREATE TABLE notification_deliveries (
    id          VARCHAR(36) PRIMARY KEY,
    notice_id   VARCHAR(36) NOT NULL,
    webhook_id  VARCHAR(36) NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    run_id      VARCHAR(36) NOT NULL DEFAULT '',
    event       VARCHAR(32) NOT NULL,
    attempt     INTEGER     NOT NULL,
    at          TIMESTAMP   NOT NULL,
    status_code INTEGER     NOT NULL DEFAULT 0,
    duration_ms INTEGER     NOT NULL DEFAULT 0,
    outcome     VARCHAR(16) NOT NULL,
    error       TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX notification_deliveries_webhook_at ON notification_deliveries (webhook_id, at);
CREATE INDEX notification_deliveries_at ON notification_deliveries (at);

-- Which safety check stopped a run, as a stable code (metrics, notices).
ALTER TABLE job_runs ADD COLUMN stop_reason VARCHAR(32) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE job_runs DROP COLUMN stop_reason;
DROP TABLE notification_deliveries;
DROP TABLE notification_outbox;
DROP TABLE webhooks;
