-- +goose Up
-- The end-of-run orphan walk reads users by (state, source) in id order, a
-- chunk at a time: with this index each chunk is a range scan along the key
-- instead of a scan and sort. It also serves everything users_state did.
CREATE INDEX users_state_source_id ON users (state, source, id);
DROP INDEX users_state;
-- The Operator user search matches LOWER(column) LIKE '%text%' (a substring,
-- see store.SearchUsers): a b-tree index cannot serve a leading wildcard, so
-- these two cost every insert and update and helped no query.
DROP INDEX users_email;
DROP INDEX users_surname;

-- +goose Down
CREATE INDEX users_surname ON users (surname);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_state ON users (state);
DROP INDEX users_state_source_id;
