package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// The few small queries a metrics scrape makes: the same figures on every
// instance of a cluster, at a cost that does not grow with the users (one
// row per job, one index range per job for its last runs, one count per
// user state on the (state, source, id) index).

// JobStat is what the metrics report about one job.
type JobStat struct {
	Job domain.Job
	// LastFinished is its newest run that has ended, LastSuccess its newest
	// successful one (dry runs left out of both); Running its run in
	// progress with a fresh heartbeat. Each is nil when there is none.
	LastFinished *domain.Run
	LastSuccess  *domain.Run
	Running      *domain.Run
}

// JobStats returns the metrics' view of every job; a running run counts
// when its heartbeat is at or after freshAfter.
func (db *DB) JobStats(ctx context.Context, freshAfter time.Time) ([]JobStat, error) {
	jobs, err := db.ListJobs(ctx)
	if err != nil {
		return nil, err
	}
	running, err := db.RunningRuns(ctx, freshAfter)
	if err != nil {
		return nil, err
	}
	stats := make([]JobStat, len(jobs))
	for i, j := range jobs {
		stats[i].Job = j
		for k := range running {
			if running[k].JobKey == j.Key && !running[k].DryRun {
				stats[i].Running = &running[k]
			}
		}
		if stats[i].LastFinished, err = db.lastFinishedRun(ctx, j.Key); err != nil {
			return nil, err
		}
		if stats[i].LastFinished != nil && stats[i].LastFinished.Status.OK() {
			stats[i].LastSuccess = stats[i].LastFinished
		} else if stats[i].LastSuccess, err = db.LastSuccessfulRun(ctx, j.Key); err != nil {
			return nil, err
		}
	}
	return stats, nil
}

// lastFinishedRun returns the newest ended run of job key that was not a
// dry run, nil when there is none.
func (db *DB) lastFinishedRun(ctx context.Context, key domain.JobKey) (*domain.Run, error) {
	var r domain.Run
	err := db.read.WithContext(ctx).Where("job_key = ? AND dry_run = ? AND status <> ?", key, false, domain.RunRunning).
		Order("started_at DESC").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: last finished run of %s: %w", key, err)
	}
	return &r, nil
}

// UserCounts counts the users in each state (every state is present).
func (db *DB) UserCounts(ctx context.Context) (map[domain.UserState]int, error) {
	var rows []struct {
		State domain.UserState
		N     int
	}
	err := db.read.WithContext(ctx).Model(&domain.User{}).Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: count users by state: %w", err)
	}
	counts := map[domain.UserState]int{domain.UserActive: 0, domain.UserInactive: 0}
	for _, r := range rows {
		counts[r.State] = r.N
	}
	return counts, nil
}

// SQLPool is one of the store's connection pools, named for metrics.
type SQLPool struct {
	Name string
	DB   *sql.DB
}

// SQLPools returns the connection pools, for their statistics: "idm" on
// PostgreSQL; "idm_write" and "idm_read" on SQLite.
func (db *DB) SQLPools() []SQLPool {
	if len(db.sqlDBs) == 1 {
		return []SQLPool{{"idm", db.sqlDBs[0]}}
	}
	return []SQLPool{{"idm_write", db.sqlDBs[0]}, {"idm_read", db.sqlDBs[1]}}
}
