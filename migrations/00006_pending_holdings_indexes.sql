-- +goose Up
-- The inactive job asks, for each page of users, which of them still hold
-- anything to end (store.PendingHoldings): a credential outside its end
-- state, a valid certificate in a state it would leave, an active role.
-- These indexes answer that from the index alone, without reading the
-- holdings' rows: on a run with nothing to change (every run after the
-- first) SQLite read a table row per holding. They serve every look-up the
-- indexes they replace served.
CREATE INDEX credentials_user_state ON credentials (user_id, type, state, id);
DROP INDEX credentials_user;
CREATE INDEX certificates_credential_state ON certificates (credential_id, state, not_after);
DROP INDEX certificates_credential;
-- Only the assignments still in force: a user whose roles were all
-- withdrawn has no entry.
CREATE INDEX role_assignments_active ON role_assignments (user_id) WHERE withdrawn_at IS NULL;

-- +goose Down
DROP INDEX role_assignments_active;
CREATE INDEX certificates_credential ON certificates (credential_id);
DROP INDEX certificates_credential_state;
CREATE INDEX credentials_user ON credentials (user_id);
DROP INDEX credentials_user_state;
