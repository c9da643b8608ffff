package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// runLockKey is the PostgreSQL advisory lock that serialises "is a job
// running? then start mine" across the instances of a cluster.
const runLockKey = 0x1d_5e_c0_01

// CreateRun records r as started by this store handle, unless a run of
// either job is running. It first aborts the runs other handles left
// running whose process is dead or frozen (see runs_owner.go; staleAfter
// is the stale window of heartbeats); a run of this handle counts as
// running whatever its heartbeat (the engine writes the end of its own runs
// before it starts another). The check, the insert and events (the engine's
// "run started") are one transaction; on PostgreSQL an advisory lock makes
// them atomic across instances, and the run's lease is held until
// FinishRun.
func (db *DB) CreateRun(ctx context.Context, r *domain.Run, staleAfter time.Duration, events ...domain.AuditEvent) error {
	r.Owner = db.owner
	if r.Status == domain.RunRunning {
		pid, err := db.takeLease(ctx, r.ID)
		if err != nil {
			return err
		}
		r.BackendPID = pid
	}
	err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := db.lockRuns(tx); err != nil {
			return err
		}
		if _, err := db.reap(tx, "", staleAfter); err != nil {
			return err
		}
		var other domain.Run
		err := tx.Where("status = ?", domain.RunRunning).Order("started_at").Take(&other).Error
		switch {
		case err == nil:
			return RunningConflict(&other)
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("store: check running runs: %w", err)
		}
		if err := tx.Create(r).Error; err != nil {
			return fmt.Errorf("store: create run: %w", err)
		}
		// The heartbeat on the clock every instance judges it by.
		if err := tx.Model(&domain.Run{}).Where("id = ?", r.ID).UpdateColumn("heartbeat_at", db.clock()).Error; err != nil {
			return fmt.Errorf("store: create run: %w", err)
		}
		for _, e := range events {
			if err := addAudit(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.releaseLease(r.ID)
	}
	return err
}

// RunningConflict is the refusal to start a run while other runs: the one
// refusal for the store and the engine. It carries the run, so that each
// entry point names its process and shows its start in the configured zone.
func RunningConflict(other *domain.Run) error {
	return &domain.RunInProgress{Other: *other}
}

// runProgress is the columns of r that change while it runs (not its
// heartbeat: see Heartbeat).
func runProgress(r *domain.Run) map[string]any {
	c := r.RunCounts
	return map[string]any{
		"expected_total": r.ExpectedTotal, "message": r.Message,
		"read_count": c.Read, "created_count": c.Created, "updated_count": c.Updated, "unchanged_count": c.Unchanged,
		"deactivated_count": c.Deactivated, "credentials_changed": c.CredentialsChanged,
		"certificates_on_hold": c.CertificatesOnHold, "certificates_revoked": c.CertificatesRevoked,
		"roles_withdrawn": c.RolesWithdrawn, "error_count": c.Errors, "orphan_count": c.Orphans,
	}
}

// UpdateRunProgress saves r's counts, expected total and message, so that
// other instances can follow it. It fails with ErrRunTakenOver when the run
// is no longer this handle's.
func (db *DB) UpdateRunProgress(ctx context.Context, r *domain.Run) error {
	return checkOwn(db.ownRun(db.write.WithContext(ctx), r.ID).Updates(runProgress(r)), r.ID, "update")
}

// Heartbeat marks run id as alive now (on the database's clock), after
// taking its lease again if the lease's connection was lost. It fails with
// ErrRunTakenOver when the run is no longer this handle's: the caller must
// stop it.
func (db *DB) Heartbeat(ctx context.Context, id string) error {
	retaken, err := db.keepLease(ctx, id)
	if err != nil {
		return err
	}
	err = db.beat(db.write.WithContext(ctx), id)
	switch {
	case errors.Is(err, ErrRunTakenOver):
		db.releaseLease(id)
	case err == nil && retaken:
		slog.Info("took a run's lease again after its connection was lost", "run", id)
	}
	return err
}

// FinishRun saves r's final status, message, counts and end time,
// enqueues its notices for the webhooks in the same transaction, and
// releases the run's lease. It fails with ErrRunTakenOver, writing nothing,
// when another instance has recorded the run's end already: that record
// (and its notices) stands.
func (db *DB) FinishRun(ctx context.Context, r *domain.Run) error {
	set := runProgress(r)
	set["status"], set["finished_at"], set["heartbeat_at"], set["stop_reason"] = r.Status, r.FinishedAt, db.clock(), r.StopReason
	err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := checkOwn(db.ownRun(tx, r.ID).Updates(set), r.ID, "finish"); err != nil {
			return err
		}
		return enqueueRunNotices(tx, r, db.Now())
	})
	if err == nil || errors.Is(err, ErrRunTakenOver) {
		db.releaseLease(r.ID)
	}
	return err
}

// AbortStaleRuns marks as aborted the runs still "running" that another
// handle's process left behind dead or frozen (see CreateRun), and returns
// how many. instance, when not "", also names this instance's leftovers
// where liveness cannot be told otherwise (SQLite): call it with the
// instance's name at start, before any run.
func (db *DB) AbortStaleRuns(ctx context.Context, instance string, staleAfter time.Duration) (int, error) {
	var others int64
	if err := db.read.WithContext(ctx).Model(&domain.Run{}).Where("status = ? AND owner <> ?", domain.RunRunning, db.owner).
		Count(&others).Error; err != nil {
		return 0, fmt.Errorf("store: abort stale runs: %w", err)
	}
	if others == 0 {
		return 0, nil
	}
	n := 0
	err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := db.lockRuns(tx); err != nil {
			return err
		}
		var err error
		n, err = db.reap(tx, instance, staleAfter)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: abort stale runs: %w", err)
	}
	return n, nil
}

// LastSuccessfulRun returns the newest run of job key that succeeded (with
// or without per-user errors) and was not a dry run; nil when there is none.
func (db *DB) LastSuccessfulRun(ctx context.Context, key domain.JobKey) (*domain.Run, error) {
	var r domain.Run
	err := db.read.WithContext(ctx).
		Where("job_key = ? AND dry_run = ? AND status IN ?", key, false,
			[]domain.RunStatus{domain.RunSucceeded, domain.RunSucceededWithErrors}).
		Order("started_at DESC").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: last successful run of %s: %w", key, err)
	}
	return &r, nil
}

// LastRun returns the newest run of job key, nil when it never ran.
func (db *DB) LastRun(ctx context.Context, key domain.JobKey) (*domain.Run, error) {
	var r domain.Run
	err := db.read.WithContext(ctx).Where("job_key = ?", key).Order("started_at DESC").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: last run of %s: %w", key, err)
	}
	return &r, nil
}

// RunningRuns returns the runs marked running whose heartbeat is at or after
// freshAfter, from any instance.
func (db *DB) RunningRuns(ctx context.Context, freshAfter time.Time) ([]domain.Run, error) {
	var runs []domain.Run
	err := db.read.WithContext(ctx).Where("status = ? AND heartbeat_at >= ?", domain.RunRunning, freshAfter).
		Order("started_at").Find(&runs).Error
	if err != nil {
		return nil, fmt.Errorf("store: running runs: %w", err)
	}
	return runs, nil
}

// ListRuns returns the runs of job key newest first, with the total count.
func (db *DB) ListRuns(ctx context.Context, key domain.JobKey, offset, limit int) ([]domain.Run, int, error) {
	q := db.read.WithContext(ctx).Model(&domain.Run{}).Where("job_key = ?", key)
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: count runs of %s: %w", key, err)
	}
	var runs []domain.Run
	if err := q.Order("started_at DESC, id").Offset(offset).Limit(limit).Find(&runs).Error; err != nil {
		return nil, 0, fmt.Errorf("store: list runs of %s: %w", key, err)
	}
	return runs, int(total), nil
}

// GetRun returns run id.
func (db *DB) GetRun(ctx context.Context, id string) (*domain.Run, error) {
	var r domain.Run
	err := db.read.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no run %q", id)
	} else if err != nil {
		return nil, fmt.Errorf("store: get run %s: %w", id, err)
	}
	return &r, nil
}

// AddRunItems records items (outside any user change: errors, orphans, dry
// runs); with a ForRun context, only while the run is still this handle's.
func (db *DB) AddRunItems(ctx context.Context, items []domain.RunItem) error {
	if len(items) == 0 {
		return nil
	}
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := db.fenceRun(ctx, tx); err != nil {
			return err
		}
		if err := tx.CreateInBatches(&items, 500).Error; err != nil {
			return fmt.Errorf("store: add run items: %w", err)
		}
		return nil
	})
}

// ListRunItems returns the items of run runID in order, only those with
// outcome when it is not "", with the total count.
func (db *DB) ListRunItems(ctx context.Context, runID, outcome string, offset, limit int) ([]domain.RunItem, int, error) {
	return db.FindRunItems(ctx, runID, RunItemFilter{Outcome: outcome}, offset, limit)
}

// UserRunItem is what one run did with one user.
type UserRunItem struct {
	Item domain.RunItem
	Run  domain.Run
}

// RunItemsByUser returns what runs did with user userID, newest run first,
// with the total count.
func (db *DB) RunItemsByUser(ctx context.Context, userID string, offset, limit int) ([]UserRunItem, int, error) {
	q := db.read.WithContext(ctx).Model(&domain.RunItem{}).Where("user_id = ?", userID)
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: count run items of user %s: %w", userID, err)
	}
	var items []domain.RunItem
	err := q.Joins("JOIN job_runs ON job_runs.id = run_items.run_id").
		Select("run_items.*").
		Order("job_runs.started_at DESC, run_items.seq").Offset(offset).Limit(limit).Find(&items).Error
	if err != nil {
		return nil, 0, fmt.Errorf("store: run items of user %s: %w", userID, err)
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.RunID)
	}
	var runs []domain.Run
	if len(ids) > 0 {
		if err := db.read.WithContext(ctx).Where("id IN ?", ids).Find(&runs).Error; err != nil {
			return nil, 0, fmt.Errorf("store: runs of user %s: %w", userID, err)
		}
	}
	byID := make(map[string]domain.Run, len(runs))
	for _, r := range runs {
		byID[r.ID] = r
	}
	out := make([]UserRunItem, len(items))
	for i, it := range items {
		out[i] = UserRunItem{Item: it, Run: byID[it.RunID]}
	}
	return out, int(total), nil
}
