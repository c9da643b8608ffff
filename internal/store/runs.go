package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"idm/internal/domain"
)

// runLockKey is the PostgreSQL advisory lock that serialises "is a job
// running? then start mine" across the instances of a cluster.
const runLockKey = 0x1d_5e_c0_01

// CreateRun records r as started, unless another run of either job is
// running and its heartbeat is at or after freshAfter (a run whose heartbeat
// is older belongs to a dead process). The check, the insert and events (the
// engine's "run started") are one transaction; on PostgreSQL an advisory
// lock makes them atomic across instances.
func (db *DB) CreateRun(ctx context.Context, r *domain.Run, freshAfter time.Time, events ...domain.AuditEvent) error {
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if db.Dialect == DialectPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", runLockKey).Error; err != nil {
				return fmt.Errorf("store: lock runs: %w", err)
			}
		}
		var other domain.Run
		err := tx.Where("status = ? AND heartbeat_at >= ?", domain.RunRunning, freshAfter).
			Order("started_at").Take(&other).Error
		switch {
		case err == nil:
			return RunningConflict(&other)
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("store: check running runs: %w", err)
		}
		if err := tx.Create(r).Error; err != nil {
			return fmt.Errorf("store: create run: %w", err)
		}
		for _, e := range events {
			if err := addAudit(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// RunningConflict is the refusal to start a run while other runs: the one
// message for the store's check across instances and the engine's in its
// own process.
func RunningConflict(other *domain.Run) error {
	by := other.TriggeredBy
	if by == "" {
		by = other.Trigger
	}
	where := ""
	if other.Instance != "" {
		where = " on " + other.Instance
	}
	return domain.Errorf(domain.ECONFLICT, "the %s job is already running%s, started at %s by %s",
		other.JobKey, where, other.StartedAt.UTC().Format(time.RFC3339), by)
}

// UpdateRunProgress saves r's counts, expected total, message and heartbeat
// while it runs, so that other instances can follow it.
func (db *DB) UpdateRunProgress(ctx context.Context, r *domain.Run) error {
	err := db.write.WithContext(ctx).Model(&domain.Run{}).Where("id = ?", r.ID).
		Select("heartbeat_at", "expected_total", "message", "read_count", "created_count", "updated_count",
			"unchanged_count", "deactivated_count", "credentials_changed", "certificates_on_hold",
			"certificates_revoked", "roles_withdrawn", "error_count", "orphan_count").
		Updates(r).Error
	if err != nil {
		return fmt.Errorf("store: update run %s: %w", r.ID, err)
	}
	return nil
}

// Heartbeat marks run id as alive at t.
func (db *DB) Heartbeat(ctx context.Context, id string, t time.Time) error {
	err := db.write.WithContext(ctx).Model(&domain.Run{}).Where("id = ? AND status = ?", id, domain.RunRunning).
		Update("heartbeat_at", t).Error
	if err != nil {
		return fmt.Errorf("store: heartbeat run %s: %w", id, err)
	}
	return nil
}

// FinishRun saves r's final status, message, counts and end time, and
// enqueues its notices for the webhooks in the same transaction.
func (db *DB) FinishRun(ctx context.Context, r *domain.Run) error {
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&domain.Run{}).Where("id = ?", r.ID).
			Select("status", "finished_at", "heartbeat_at", "expected_total", "message", "stop_reason", "read_count", "created_count",
				"updated_count", "unchanged_count", "deactivated_count", "credentials_changed", "certificates_on_hold",
				"certificates_revoked", "roles_withdrawn", "error_count", "orphan_count").
			Updates(r).Error
		if err != nil {
			return fmt.Errorf("store: finish run %s: %w", r.ID, err)
		}
		return enqueueRunNotices(tx, r, db.Now())
	})
}

// AbortStaleRuns marks as aborted the runs still "running" that a dead
// process left behind: those of this instance (it has just started, so none
// of its runs can be alive) and those of any instance whose heartbeat is
// older than staleBefore. instance "" matches by heartbeat only.
//
// Each aborted run's notices are enqueued with it.
func (db *DB) AbortStaleRuns(ctx context.Context, instance string, staleBefore time.Time) (int, error) {
	var runs []domain.Run
	err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("status = ?", domain.RunRunning)
		if instance != "" {
			q = q.Where("instance = ? OR heartbeat_at < ?", instance, staleBefore)
		} else {
			q = q.Where("heartbeat_at < ?", staleBefore)
		}
		if db.Dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Find(&runs).Error; err != nil || len(runs) == 0 {
			return err
		}
		return abortRuns(tx, runs, db.Now())
	})
	if err != nil {
		return 0, fmt.Errorf("store: abort stale runs: %w", err)
	}
	return len(runs), nil
}

// abortRuns records runs, left running by a dead process, as aborted at
// now, and enqueues their notices.
func abortRuns(tx *gorm.DB, runs []domain.Run, now time.Time) error {
	const msg = "Aborted: the process running it stopped before it finished. Every user it changed was changed completely; the next run continues."
	ids := make([]string, len(runs))
	for i := range runs {
		ids[i] = runs[i].ID
	}
	err := tx.Model(&domain.Run{}).Where("id IN ?", ids).
		Updates(map[string]any{"status": domain.RunAborted, "finished_at": now, "message": msg}).Error
	if err != nil {
		return err
	}
	for i := range runs {
		r := &runs[i]
		r.Status, r.FinishedAt, r.Message = domain.RunAborted, &now, msg
		if err := enqueueRunNotices(tx, r, now); err != nil {
			return err
		}
	}
	return nil
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
// runs).
func (db *DB) AddRunItems(ctx context.Context, items []domain.RunItem) error {
	if len(items) == 0 {
		return nil
	}
	if err := db.write.WithContext(ctx).CreateInBatches(&items, 500).Error; err != nil {
		return fmt.Errorf("store: add run items: %w", err)
	}
	return nil
}

// ListRunItems returns the items of run runID in order, only those with
// outcome when it is not "", with the total count.
func (db *DB) ListRunItems(ctx context.Context, runID, outcome string, offset, limit int) ([]domain.RunItem, int, error) {
	q := db.read.WithContext(ctx).Model(&domain.RunItem{}).Where("run_id = ?", runID)
	if outcome != "" {
		q = q.Where("outcome = ?", outcome)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: count items of run %s: %w", runID, err)
	}
	var items []domain.RunItem
	if err := q.Order("seq").Offset(offset).Limit(limit).Find(&items).Error; err != nil {
		return nil, 0, fmt.Errorf("store: list items of run %s: %w", runID, err)
	}
	for i := range items {
		items[i].RunID = runID
	}
	return items, int(total), nil
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
