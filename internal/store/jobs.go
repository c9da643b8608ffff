package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// Job updates use UpdateColumn(s): GORM's Update(s) would also stamp
// updated_at, which records when an administrator last saved the job.

// ListJobs returns the batch job definitions in the order the product shows
// them (domain.JobKeys), any others after them by key.
func (db *DB) ListJobs(ctx context.Context) ([]domain.Job, error) {
	var jobs []domain.Job
	if err := db.read.WithContext(ctx).Order("key").Find(&jobs).Error; err != nil {
		return nil, fmt.Errorf("store: list jobs: %w", err)
	}
	rank := func(k domain.JobKey) int {
		if i := slices.Index(domain.JobKeys, k); i >= 0 {
			return i
		}
		return len(domain.JobKeys)
	}
	slices.SortStableFunc(jobs, func(a, b domain.Job) int { return rank(a.Key) - rank(b.Key) })
	return jobs, nil
}

// GetJob returns one job definition, or a domain ENOTFOUND error.
func (db *DB) GetJob(ctx context.Context, key domain.JobKey) (*domain.Job, error) {
	return getJob(db.read.WithContext(ctx), key)
}

func getJob(tx *gorm.DB, key domain.JobKey) (*domain.Job, error) {
	var j domain.Job
	err := tx.Where("key = ?", key).Take(&j).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, domain.NoSuchJob(string(key))
	} else if err != nil {
		return nil, fmt.Errorf("store: get job %s: %w", key, err)
	}
	return &j, nil
}

// SaveJobSchedule stores a job's expression and enabled flag as by, if the
// job is still at expectedVersion (the version the administrator's form was
// opened at); otherwise it returns a domain ECONFLICT error naming who
// changed it and when. The change and its audit event commit together. A
// save that changes nothing writes nothing and returns the job as it is.
//
// The caller validates expr (domain.ValidateCronExpression) first: the store keeps
// whatever it is given, and the scheduler refuses to schedule an invalid
// expression and records why.
func (db *DB) SaveJobSchedule(ctx context.Context, key domain.JobKey, expr string, enabled bool, expectedVersion int, by string) (*domain.Job, error) {
	var saved *domain.Job
	err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cur, err := getJob(tx, key)
		if err != nil {
			return err
		}
		if cur.Version != expectedVersion {
			return conflict(cur)
		}
		if cur.CronExpression == expr && cur.Enabled == enabled {
			saved = cur
			return nil
		}
		now := db.Now().UTC()
		// The version in the WHERE clause is the lock: between the read
		// above and this write another instance may have saved.
		res := tx.Model(&domain.Job{}).Where("key = ? AND version = ?", key, expectedVersion).UpdateColumns(map[string]any{
			"cron_expression": expr,
			"enabled":         enabled,
			"version":         gorm.Expr("version + 1"),
			"updated_at":      now,
			"updated_by":      by,
		})
		if res.Error != nil {
			return fmt.Errorf("store: save schedule of job %s: %w", key, res.Error)
		}
		if res.RowsAffected == 0 {
			latest, err := getJob(tx, key)
			if err != nil {
				return err
			}
			return conflict(latest)
		}
		err = addAudit(tx, domain.AuditEvent{
			At:     now,
			Actor:  by,
			Action: domain.AuditScheduleSave,
			Target: string(key),
			Detail: fmt.Sprintf("expression %s → %s; enabled %s → %s",
				cur.CronExpression, expr, strconv.FormatBool(cur.Enabled), strconv.FormatBool(enabled)),
		})
		if err != nil {
			return err
		}
		saved, err = getJob(tx, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

func conflict(cur *domain.Job) error { return domain.JobChanged(cur.UpdatedBy, cur.UpdatedAt.UTC()) }

// SetJobScheduleState records what the scheduler made of a job: its next
// run (nil when it is not scheduled) and why it could not be scheduled ("" when
// it could). It does not change the job's version: this is the scheduler's
// state, not the administrator's definition.
func (db *DB) SetJobScheduleState(ctx context.Context, key domain.JobKey, nextRun *time.Time, scheduleErr string) error {
	var next any
	if nextRun != nil {
		next = nextRun.UTC()
	}
	res := db.write.WithContext(ctx).Model(&domain.Job{}).Where("key = ?", key).UpdateColumns(map[string]any{
		"next_run_at":    next,
		"schedule_error": scheduleErr,
	})
	if res.Error != nil {
		return fmt.Errorf("store: set schedule state of job %s: %w", key, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.NoSuchJob(string(key))
	}
	return nil
}

// ClaimJobSlot claims the scheduled run at slot for this instance: it
// returns true for exactly one caller per job and slot across every instance
// sharing the database, and false for the rest (and for any slot not later
// than one already claimed). Slots are compared to the second in UTC.
func (db *DB) ClaimJobSlot(ctx context.Context, key domain.JobKey, slot time.Time) (bool, error) {
	s := slot.UTC().Truncate(time.Second)
	res := db.write.WithContext(ctx).Model(&domain.Job{}).
		Where("key = ? AND (last_fired_slot IS NULL OR last_fired_slot < ?)", key, s).
		UpdateColumn("last_fired_slot", s)
	if res.Error != nil {
		return false, fmt.Errorf("store: claim slot %s of job %s: %w", s.Format(time.RFC3339), key, res.Error)
	}
	return res.RowsAffected == 1, nil
}
