package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// Run ownership (docs/architecture.md, "Run ownership and fencing").
//
// A run belongs to the store handle that created it: its row carries the
// handle's owner tag. On PostgreSQL the handle also holds, for as long as
// the run is running, a session advisory lock keyed by the run's id on a
// connection of its own (the lease), and every connection of its pool
// carries the owner tag as its application_name. Another instance judges a
// running run that is not its own by them, on the database's clock:
//
//   - its lease is free: the owner's session is gone (the process was
//     killed): the run is aborted at once; unless the database server
//     restarted since the run's last heartbeat (every lease went with it):
//     then only once the heartbeat is stale;
//   - its lease is held but its heartbeat is older than the stale window:
//     the process is frozen (a stopped VM, a long pause): its sessions are
//     ended, so that its locks go and it can write nothing more, and the
//     run is aborted;
//   - otherwise it is alive.
//
// On SQLite (one machine, one clock) and for runs recorded before owners
// existed, a stale heartbeat alone says the run is dead.
//
// Only Heartbeat refreshes a running run's heartbeat, after making sure the
// lease is held (taking it again when the server restarted).
//
// Every write of a run is fenced: it happens only while the run is still
// running and still this handle's, checked in the same transaction as the
// write, so a process that wakes after another took over writes nothing.

// ErrRunTakenOver says a run is no longer this store handle's to write: it
// is no longer running (another instance found its process dead or frozen
// and recorded its end).
var ErrRunTakenOver = errors.New("the run is no longer this instance's: another instance recorded its end")

// leaseNamespace is the first key of the two-key advisory lock form for run
// leases (the second is hashtext of the run id), apart from runLockKey and
// goose's migration lock, which use the one-key form.
const leaseNamespace = 0x69646d72 // "idmr"

// runsLockTimeout bounds how long recording a run waits for a row another
// session holds (a frozen owner's, while its session is being ended).
const runsLockTimeout = "10s"

// unlockTimeout bounds releasing a lease.
const unlockTimeout = 5 * time.Second

// runKey is the context key of ForRun.
type runKey struct{}

// ForRun returns ctx marked as the context of run id's writes: the store's
// write transactions made with it (ApplyChanges, AddRunItems) first check,
// in the same transaction, that the run is still running and still this
// handle's, and fail with ErrRunTakenOver otherwise.
func ForRun(ctx context.Context, runID string) context.Context {
	return context.WithValue(ctx, runKey{}, runID)
}

// fenceRun is the fence of a write transaction made with a ForRun context;
// it does nothing for other contexts.
func (db *DB) fenceRun(ctx context.Context, tx *gorm.DB) error {
	id, ok := ctx.Value(runKey{}).(string)
	if !ok {
		return nil
	}
	return db.fence(tx, id)
}

// fence checks that run id is still running and this handle's, else it
// fails with ErrRunTakenOver. Inside a transaction it also locks the run's
// row until the commit (an UPDATE that changes nothing), so that another
// instance cannot record the run's end between the check and the writes.
func (db *DB) fence(tx *gorm.DB, id string) error {
	return checkOwn(db.ownRun(tx, id).UpdateColumn("owner", gorm.Expr("owner")), id, "check that this instance still runs")
}

// beat refreshes run id's heartbeat if it is still running and this
// handle's, else it fails with ErrRunTakenOver.
func (db *DB) beat(tx *gorm.DB, id string) error {
	return checkOwn(db.ownRun(tx, id).UpdateColumn("heartbeat_at", db.clock()), id, "heartbeat")
}

// ownRun selects run id while it is running and this handle's.
func (db *DB) ownRun(tx *gorm.DB, id string) *gorm.DB {
	return tx.Model(&domain.Run{}).Where("id = ? AND status = ? AND owner = ?", id, domain.RunRunning, db.owner)
}

// checkOwn turns the result of a statement on ownRun into an error.
func checkOwn(res *gorm.DB, id, what string) error {
	if res.Error != nil {
		return fmt.Errorf("store: %s run %s: %w", what, id, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: run %s: %w", id, ErrRunTakenOver)
	}
	return nil
}

// clock is the time heartbeats are written with: on PostgreSQL the
// database's own clock, one clock for every instance however theirs differ;
// on SQLite the store's.
func (db *DB) clock() any {
	if db.Dialect == DialectPostgres {
		return gorm.Expr("timezone('UTC', clock_timestamp())")
	}
	return db.Now()
}

// lockRuns serialises, across instances, the transactions that judge the
// running runs and start one (PostgreSQL; SQLite has one writer anyway).
func (db *DB) lockRuns(tx *gorm.DB) error {
	if db.Dialect != DialectPostgres {
		return nil
	}
	if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", runLockKey).Error; err != nil {
		return fmt.Errorf("store: lock runs: %w", err)
	}
	if err := tx.Exec("SET LOCAL lock_timeout = '" + runsLockTimeout + "'").Error; err != nil {
		return fmt.Errorf("store: lock runs: %w", err)
	}
	return nil
}

// verdict is what reap makes of another handle's running run.
type verdict int

const (
	runAlive       verdict = iota
	runSessionGone         // its lease is free
	runSessionLost         // its lease is free since the server restarted, its heartbeat stale
	runFrozen              // its lease is held, its heartbeat stale
	runStale               // its heartbeat is stale (SQLite, or a run without owner)
	runLeftHere            // this instance's, left by its previous process (SQLite, or without owner)
)

// abortMessage is the message of a run aborted for v.
func (v verdict) abortMessage(r *domain.Run, staleAfter time.Duration) string {
	const rest = " Every user it changed was changed completely; the next run continues."
	on := ""
	if r.Instance != "" {
		on = " on " + r.Instance
	}
	switch v {
	case runSessionGone:
		return "Aborted: the process running it" + on + " stopped (its database session ended) before it finished." + rest
	case runSessionLost:
		return fmt.Sprintf("Aborted: the process running it%s was not heard from after the database restarted (no heartbeat for %s).", on, staleAfter) + rest
	case runFrozen:
		return fmt.Sprintf("Aborted: the process running it%s stopped answering (no heartbeat for %s); its database sessions were ended so that it writes nothing more.", on, staleAfter) + rest
	default:
		return "Aborted: the process running it stopped before it finished." + rest
	}
}

// reap aborts, in tx (after lockRuns), the running runs of other handles
// whose process is dead or frozen, and returns how many. instance, when
// not "", also names this instance's own leftovers, for the runs whose
// liveness cannot be told otherwise.
func (db *DB) reap(tx *gorm.DB, instance string, staleAfter time.Duration) (int, error) {
	var runs []domain.Run
	if err := tx.Where("status = ? AND owner <> ?", domain.RunRunning, db.owner).Order("started_at").Find(&runs).Error; err != nil {
		return 0, fmt.Errorf("store: read running runs: %w", err)
	}
	n := 0
	for i := range runs {
		r := &runs[i]
		v, err := db.judge(tx, r, instance, staleAfter)
		if err != nil {
			return n, err
		}
		if v == runAlive {
			continue
		}
		if v == runFrozen {
			if err := db.endSessions(tx, r); err != nil {
				return n, err
			}
		}
		if err := db.abort(tx, r, v.abortMessage(r, staleAfter)); err != nil {
			return n, err
		}
		slog.Warn("aborted a run whose process is gone", "run", r.ID, "job", r.JobKey, "instance", r.Instance, "reason", v.abortMessage(r, staleAfter))
		n++
	}
	return n, nil
}

// abort records r as aborted with msg, and enqueues its notices.
func (db *DB) abort(tx *gorm.DB, r *domain.Run, msg string) error {
	now := db.Now()
	err := tx.Model(&domain.Run{}).Where("id = ? AND status = ?", r.ID, domain.RunRunning).
		Updates(map[string]any{"status": domain.RunAborted, "finished_at": now, "message": msg}).Error
	if err != nil {
		return fmt.Errorf("store: abort run %s: %w", r.ID, err)
	}
	r.Status, r.FinishedAt, r.Message = domain.RunAborted, &now, msg
	return enqueueRunNotices(tx, r, now)
}

// judge tells whether another handle's running run r is alive.
func (db *DB) judge(tx *gorm.DB, r *domain.Run, instance string, staleAfter time.Duration) (verdict, error) {
	if db.Dialect != DialectPostgres || r.Owner == "" {
		switch {
		case instance != "" && r.Instance == instance:
			return runLeftHere, nil
		case r.HeartbeatAt.Before(db.Now().Add(-staleAfter)):
			return runStale, nil
		}
		return runAlive, nil
	}
	// The lease probe takes the lock only when nobody holds it, and only
	// until this transaction ends. The heartbeat is compared on the
	// database's clock, which it was written with. A lease lost when the
	// server restarted says nothing of the owner (every session ended):
	// the owner takes its lease again before its next heartbeat, so a free
	// lease condemns the run at once only when the heartbeat is newer than
	// the server; otherwise the stale window decides.
	var probe struct{ Free, Stale, BeforeRestart bool }
	err := tx.Raw(`SELECT pg_try_advisory_xact_lock(?, hashtext(id)) AS free,
		heartbeat_at < timezone('UTC', clock_timestamp()) - ? * interval '1 millisecond' AS stale,
		heartbeat_at < timezone('UTC', pg_postmaster_start_time()) AS before_restart
		FROM job_runs WHERE id = ?`, leaseNamespace, staleAfter.Milliseconds(), r.ID).Scan(&probe).Error
	switch {
	case err != nil:
		return runAlive, fmt.Errorf("store: check the owner of run %s: %w", r.ID, err)
	case probe.Free && !probe.BeforeRestart:
		return runSessionGone, nil
	case probe.Free && probe.Stale:
		return runSessionLost, nil
	case !probe.Free && probe.Stale:
		return runFrozen, nil
	}
	return runAlive, nil
}

// endSessions ends every database session of r's owner (pg_terminate_backend
// needs no privilege for sessions of the same role): its lease, and any
// transaction it was frozen in, which would otherwise hold its locks until
// the process wakes or TCP gives up.
func (db *DB) endSessions(tx *gorm.DB, r *domain.Run) error {
	var ended int
	err := tx.Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = ? AND pid <> pg_backend_pid()`, r.Owner).Scan(&ended).Error
	if err != nil {
		return fmt.Errorf("store: end the sessions of the frozen owner of run %s: %w", r.ID, err)
	}
	slog.Warn("ended the database sessions of a frozen instance", "run", r.ID, "instance", r.Instance,
		"owner", r.Owner, "lease_backend_pid", r.BackendPID, "sessions", ended)
	return nil
}

// takeLease takes run id's liveness lock on a connection of its own and
// returns that session's backend pid (PostgreSQL; 0 and no lease on SQLite).
func (db *DB) takeLease(ctx context.Context, id string) (int, error) {
	if db.Dialect != DialectPostgres {
		return 0, nil
	}
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: lease run %s: %w", id, err)
	}
	var pid int
	var got bool
	err = conn.QueryRowContext(ctx, "SELECT pg_backend_pid(), pg_try_advisory_lock($1, hashtext($2))", leaseNamespace, id).Scan(&pid, &got)
	if err == nil && !got {
		err = errors.New("the lock is held by another session")
	}
	if err != nil {
		discard(conn)
		return 0, fmt.Errorf("store: lease run %s: %w", id, err)
	}
	db.leaseMu.Lock()
	db.leases[id] = conn
	db.leaseMu.Unlock()
	return pid, nil
}

// keepLease makes sure this handle still holds run id's lease, taking it
// again on a new connection when its connection was lost (the server
// restarted), and says whether it did; it does nothing for a run it holds
// no lease for.
func (db *DB) keepLease(ctx context.Context, id string) (bool, error) {
	db.leaseMu.Lock()
	conn, ok := db.leases[id]
	db.leaseMu.Unlock()
	if !ok || conn.PingContext(ctx) == nil {
		return false, nil
	}
	db.leaseMu.Lock()
	delete(db.leases, id)
	db.leaseMu.Unlock()
	discard(conn)
	pid, err := db.takeLease(ctx, id)
	if err != nil {
		return false, err
	}
	return true, db.ownRun(db.write.WithContext(ctx), id).UpdateColumn("backend_pid", pid).Error
}

// releaseLease releases run id's liveness lock, if this handle holds it.
// A connection that cannot unlock is closed instead, which releases it too.
func (db *DB) releaseLease(id string) {
	db.leaseMu.Lock()
	conn, ok := db.leases[id]
	delete(db.leases, id)
	db.leaseMu.Unlock()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	var released bool
	err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", leaseNamespace, id).Scan(&released)
	if err != nil || !released {
		discard(conn)
		return
	}
	_ = conn.Close()
}

// discard closes conn's underlying connection instead of pooling it:
// database/sql drops a connection whose Raw callback returns ErrBadConn.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
