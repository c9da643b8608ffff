-- +goose Up
-- The stable identifier (objectGUID, entryUUID) of the entry a run item is
-- about, when the item has no user to name it by: an entry that could not
-- be mapped still says which directory object it is.
ALTER TABLE run_items ADD COLUMN directory_id VARCHAR(256) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE run_items DROP COLUMN directory_id;
