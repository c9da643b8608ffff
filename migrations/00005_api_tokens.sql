-- +goose Up
-- API tokens (one SQL for PostgreSQL and SQLite). Only the SHA-256 hash of a
-- token is kept, as for sessions; a token is looked up by it (the unique
-- index). A token dies with its account (ON DELETE CASCADE); disabling the
-- account revokes it. Its name is unique per account, revoked tokens
-- included, so that the audit log's "token:NAME (account ACCOUNT)" always
-- names one token.
CREATE TABLE api_tokens (
    id           VARCHAR(36) PRIMARY KEY,
    account_id   VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         VARCHAR(64) NOT NULL,
    token_hash   VARCHAR(64) NOT NULL UNIQUE,
    created_at   TIMESTAMP   NOT NULL,
    created_by   VARCHAR(64) NOT NULL DEFAULT '',
    expires_at   TIMESTAMP   NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP,
    revoked_by   VARCHAR(64) NOT NULL DEFAULT '',
    UNIQUE (account_id, name)
);

-- +goose Down
DROP TABLE api_tokens;
