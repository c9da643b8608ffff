-- +goose Up
-- The Audit page filters by person and by action, newest first, within a
-- time range: each filter is a range scan along its key instead of a scan of
-- every event.
CREATE INDEX audit_events_actor_at ON audit_events (actor, at);
CREATE INDEX audit_events_action_at ON audit_events (action, at);

-- +goose Down
DROP INDEX audit_events_action_at;
DROP INDEX audit_events_actor_at;
