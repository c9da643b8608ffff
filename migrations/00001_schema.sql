-- +goose Up
-- One schema for PostgreSQL and SQLite: portable types only (VARCHAR/TEXT,
-- INTEGER, BOOLEAN, TIMESTAMP holding UTC), text UUID keys made in Go.

CREATE TABLE accounts (
    id            VARCHAR(36)  PRIMARY KEY,
    username      VARCHAR(64)  NOT NULL UNIQUE,
    role          VARCHAR(16)  NOT NULL CHECK (role IN ('administrator', 'operator')),
    password_hash VARCHAR(100) NOT NULL,
    disabled      BOOLEAN      NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP    NOT NULL,
    updated_at    TIMESTAMP    NOT NULL,
    last_login_at TIMESTAMP
);

CREATE TABLE sessions (
    token_hash   VARCHAR(64) PRIMARY KEY,
    account_id   VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   TIMESTAMP   NOT NULL,
    last_seen_at TIMESTAMP   NOT NULL,
    expires_at   TIMESTAMP   NOT NULL,
    flash        TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_failures (
    key           VARCHAR(200) PRIMARY KEY,
    count         INTEGER      NOT NULL,
    first_at      TIMESTAMP    NOT NULL,
    blocked_until TIMESTAMP
);

CREATE TABLE users (
    id              VARCHAR(36)   PRIMARY KEY,
    username        VARCHAR(256)  NOT NULL UNIQUE,
    directory_id    VARCHAR(256)  UNIQUE,
    dn              VARCHAR(1024) NOT NULL DEFAULT '',
    given_name      VARCHAR(256)  NOT NULL DEFAULT '',
    surname         VARCHAR(256)  NOT NULL DEFAULT '',
    display_name    VARCHAR(256)  NOT NULL DEFAULT '',
    email           VARCHAR(256)  NOT NULL DEFAULT '',
    phone           VARCHAR(64)   NOT NULL DEFAULT '',
    title           VARCHAR(256)  NOT NULL DEFAULT '',
    department      VARCHAR(256)  NOT NULL DEFAULT '',
    employee_number VARCHAR(64)   NOT NULL DEFAULT '',
    state           VARCHAR(16)   NOT NULL CHECK (state IN ('active', 'inactive')),
    source          VARCHAR(16)   NOT NULL DEFAULT 'ldap',
    created_at      TIMESTAMP     NOT NULL,
    updated_at      TIMESTAMP     NOT NULL,
    last_synced_at  TIMESTAMP
);
CREATE INDEX users_state ON users (state);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_surname ON users (surname);

CREATE TABLE credentials (
    id         VARCHAR(36)  PRIMARY KEY,
    user_id    VARCHAR(36)  NOT NULL REFERENCES users (id),
    type       VARCHAR(32)  NOT NULL CHECK (type IN ('card', 'temporary_card', 'virtual_smart_card', 'mobile_id', 'soft_token')),
    serial     VARCHAR(128) NOT NULL,
    state      VARCHAR(16)  NOT NULL CHECK (state IN ('active', 'inactive', 'locked')),
    created_at TIMESTAMP    NOT NULL,
    updated_at TIMESTAMP    NOT NULL,
    UNIQUE (type, serial)
);
CREATE INDEX credentials_user ON credentials (user_id);

CREATE TABLE certificates (
    id                VARCHAR(36)   PRIMARY KEY,
    credential_id     VARCHAR(36)   NOT NULL REFERENCES credentials (id),
    serial            VARCHAR(128)  NOT NULL,
    subject           VARCHAR(1024) NOT NULL DEFAULT '',
    issuer            VARCHAR(1024) NOT NULL DEFAULT '',
    not_before        TIMESTAMP     NOT NULL,
    not_after         TIMESTAMP     NOT NULL,
    state             VARCHAR(16)   NOT NULL CHECK (state IN ('active', 'on_hold', 'revoked', 'expired')),
    revocation_reason VARCHAR(64),
    revoked_at        TIMESTAMP,
    created_at        TIMESTAMP     NOT NULL,
    updated_at        TIMESTAMP     NOT NULL,
    UNIQUE (issuer, serial)
);
CREATE INDEX certificates_credential ON certificates (credential_id);

CREATE TABLE roles (
    id          VARCHAR(36)  PRIMARY KEY,
    name        VARCHAR(128) NOT NULL UNIQUE,
    description TEXT         NOT NULL DEFAULT ''
);

CREATE TABLE role_assignments (
    id           VARCHAR(36) PRIMARY KEY,
    user_id      VARCHAR(36) NOT NULL REFERENCES users (id),
    role_id      VARCHAR(36) NOT NULL REFERENCES roles (id),
    assigned_at  TIMESTAMP   NOT NULL,
    withdrawn_at TIMESTAMP,
    withdrawn_by VARCHAR(36),
    UNIQUE (user_id, role_id)
);
CREATE INDEX role_assignments_role ON role_assignments (role_id);

CREATE TABLE batch_jobs (
    key             VARCHAR(32)  PRIMARY KEY,
    symbolic_name   VARCHAR(128) NOT NULL,
    process_name    VARCHAR(128) NOT NULL,
    description     TEXT         NOT NULL DEFAULT '',
    component       VARCHAR(128) NOT NULL,
    process_start   VARCHAR(128) NOT NULL,
    executable_for  VARCHAR(128) NOT NULL,
    cron_expression VARCHAR(256) NOT NULL,
    enabled         BOOLEAN      NOT NULL DEFAULT FALSE,
    version         INTEGER      NOT NULL DEFAULT 1,
    updated_at      TIMESTAMP    NOT NULL,
    updated_by      VARCHAR(64)  NOT NULL DEFAULT '',
    schedule_error  TEXT         NOT NULL DEFAULT '',
    next_run_at     TIMESTAMP,
    last_fired_slot TIMESTAMP
);

-- The symbolic names are verbatim from the product's use-case pages, where
-- they look swapped; they are kept as written.
INSERT INTO batch_jobs (key, symbolic_name, process_name, description, component, process_start, executable_for, cron_expression, enabled, version, updated_at, updated_by)
VALUES
    ('active', 'LDAPAddonBatchSyncSynchronizeInactiveLDAPUsersToIDMUsers',
     'Synchronize active LDAP Users to Identity Manager',
     'Synchronizes active users via the LDAP connection to Identity Manager: users are created or updated with state active and their information mapped to the right fields.',
     'Identity Manager Admin', 'Batch synchronization', 'Administrator', '0 2 * * *', FALSE, 1, CURRENT_TIMESTAMP, 'system'),
    ('inactive', 'UsersAddonLDAPBatchSyncSynchronizeActiveLDAPUsersToIDMUsers',
     'Synchronize inactive LDAP Users to Identity Manager',
     'Synchronizes inactive users via the LDAP connection to Identity Manager: users become inactive, their credentials inactive or locked, their certificates on hold or revoked, and all their roles are withdrawn.',
     'Identity Manager Admin', 'Batch synchronization', 'Administrator', '30 2 * * *', FALSE, 1, CURRENT_TIMESTAMP, 'system');

CREATE TABLE job_runs (
    id                   VARCHAR(36)  PRIMARY KEY,
    job_key              VARCHAR(32)  NOT NULL REFERENCES batch_jobs (key),
    trigger_kind         VARCHAR(16)  NOT NULL,
    triggered_by         VARCHAR(64)  NOT NULL DEFAULT '',
    dry_run              BOOLEAN      NOT NULL DEFAULT FALSE,
    status               VARCHAR(32)  NOT NULL,
    started_at           TIMESTAMP    NOT NULL,
    finished_at          TIMESTAMP,
    heartbeat_at         TIMESTAMP    NOT NULL,
    expected_total       INTEGER      NOT NULL DEFAULT 0,
    instance             VARCHAR(128) NOT NULL DEFAULT '',
    message              TEXT         NOT NULL DEFAULT '',
    read_count           INTEGER      NOT NULL DEFAULT 0,
    created_count        INTEGER      NOT NULL DEFAULT 0,
    updated_count        INTEGER      NOT NULL DEFAULT 0,
    unchanged_count      INTEGER      NOT NULL DEFAULT 0,
    deactivated_count    INTEGER      NOT NULL DEFAULT 0,
    credentials_changed  INTEGER      NOT NULL DEFAULT 0,
    certificates_on_hold INTEGER      NOT NULL DEFAULT 0,
    certificates_revoked INTEGER      NOT NULL DEFAULT 0,
    roles_withdrawn      INTEGER      NOT NULL DEFAULT 0,
    error_count          INTEGER      NOT NULL DEFAULT 0,
    orphan_count         INTEGER      NOT NULL DEFAULT 0
);
CREATE INDEX job_runs_job_started ON job_runs (job_key, started_at);
CREATE INDEX job_runs_status ON job_runs (status);

CREATE TABLE run_items (
    run_id   VARCHAR(36)   NOT NULL REFERENCES job_runs (id),
    seq      INTEGER       NOT NULL,
    user_id  VARCHAR(36),
    username VARCHAR(256)  NOT NULL DEFAULT '',
    dn       VARCHAR(1024) NOT NULL DEFAULT '',
    outcome  VARCHAR(16)   NOT NULL,
    changes  TEXT          NOT NULL DEFAULT '',
    error    TEXT          NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX run_items_user ON run_items (user_id);
CREATE INDEX run_items_outcome ON run_items (run_id, outcome);

CREATE TABLE audit_events (
    id     VARCHAR(36)  PRIMARY KEY,
    at     TIMESTAMP    NOT NULL,
    actor  VARCHAR(64)  NOT NULL,
    action VARCHAR(64)  NOT NULL,
    target VARCHAR(256) NOT NULL DEFAULT '',
    detail TEXT         NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TABLE ldap_settings (
    id                        INTEGER       PRIMARY KEY,
    url                       VARCHAR(512)  NOT NULL DEFAULT '',
    start_tls                 BOOLEAN       NOT NULL DEFAULT FALSE,
    ca_cert                   TEXT          NOT NULL DEFAULT '',
    insecure_skip_verify      BOOLEAN       NOT NULL DEFAULT FALSE,
    bind_dn                   VARCHAR(1024) NOT NULL DEFAULT '',
    bind_password_enc         TEXT          NOT NULL DEFAULT '',
    base_dn                   VARCHAR(1024) NOT NULL DEFAULT '',
    scope                     VARCHAR(8)    NOT NULL DEFAULT 'sub',
    active_filter             TEXT          NOT NULL DEFAULT '',
    inactive_filter           TEXT          NOT NULL DEFAULT '',
    page_size                 INTEGER       NOT NULL DEFAULT 500,
    connect_timeout_seconds   INTEGER       NOT NULL DEFAULT 10,
    search_timeout_seconds    INTEGER       NOT NULL DEFAULT 120,
    preset                    VARCHAR(32)   NOT NULL DEFAULT '',
    attr_username             VARCHAR(128)  NOT NULL DEFAULT '',
    attr_stable_id            VARCHAR(128)  NOT NULL DEFAULT '',
    attr_given_name           VARCHAR(128)  NOT NULL DEFAULT '',
    attr_surname              VARCHAR(128)  NOT NULL DEFAULT '',
    attr_display_name         VARCHAR(128)  NOT NULL DEFAULT '',
    attr_email                VARCHAR(128)  NOT NULL DEFAULT '',
    attr_phone                VARCHAR(128)  NOT NULL DEFAULT '',
    attr_title                VARCHAR(128)  NOT NULL DEFAULT '',
    attr_department           VARCHAR(128)  NOT NULL DEFAULT '',
    attr_employee_number      VARCHAR(128)  NOT NULL DEFAULT '',
    deactivate_max_users      INTEGER       NOT NULL DEFAULT 500,
    deactivate_max_percent    INTEGER       NOT NULL DEFAULT 10,
    shrink_max_percent        INTEGER       NOT NULL DEFAULT 20,
    allow_next_past_threshold BOOLEAN       NOT NULL DEFAULT FALSE,
    version                   INTEGER       NOT NULL DEFAULT 0,
    updated_at                TIMESTAMP     NOT NULL,
    updated_by                VARCHAR(64)   NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE ldap_settings;
DROP TABLE audit_events;
DROP TABLE run_items;
DROP TABLE job_runs;
DROP TABLE batch_jobs;
DROP TABLE role_assignments;
DROP TABLE roles;
DROP TABLE certificates;
DROP TABLE credentials;
DROP TABLE users;
DROP TABLE login_failures;
DROP TABLE sessions;
DROP TABLE accounts;
