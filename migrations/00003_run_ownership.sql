-- +goose Up
-- Who owns a running run, so that the other instances of a cluster can tell
-- a live owner from a dead or frozen one (see docs/architecture.md, "Run
-- ownership and fencing"): owner is the owning process's session tag (on
-- PostgreSQL its connections' application_name), backend_pid the PostgreSQL
-- session that holds the run's liveness lock (0 on SQLite).
ALTER TABLE job_runs ADD COLUMN owner VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE job_runs ADD COLUMN backend_pid INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE job_runs DROP COLUMN backend_pid;
ALTER TABLE job_runs DROP COLUMN owner;
