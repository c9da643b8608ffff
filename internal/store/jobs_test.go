package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// TestMain stops the shared PostgreSQL server after the package's tests.
func TestMain(m *testing.M) { testenv.Main(m) }

// mustOpenJobsDB opens a fresh, migrated database at url, closed when the
// test ends, with a fixed clock.
func mustOpenJobsDB(t *testing.T, url string, now time.Time) *store.DB {
	t.Helper()
	db := testenv.MustOpenDB(t, url)
	db.Now = func() time.Time { return now }
	return db
}

var jobsClock = time.Date(2026, 5, 4, 9, 15, 0, 0, time.UTC)

func TestListAndGetJobs(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		db := mustOpenJobsDB(t, url, jobsClock)
		ctx := context.Background()

		jobs, err := db.ListJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 2 || jobs[0].Key != domain.JobActive || jobs[1].Key != domain.JobInactive {
			t.Fatalf("ListJobs = %+v, want active then inactive", jobs)
		}
		if jobs[0].CronExpression != "0 2 * * *" || jobs[0].Enabled || jobs[0].Version != 1 {
			t.Errorf("seeded active job = %+v", jobs[0])
		}

		t.Run("OK", func(t *testing.T) {
			j, err := db.GetJob(ctx, domain.JobInactive)
			if err != nil {
				t.Fatal(err)
			}
			if j.ProcessName != "Synchronize inactive LDAP Users to Identity Manager" || j.CronExpression != "30 2 * * *" {
				t.Errorf("GetJob = %+v", j)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := db.GetJob(ctx, "nightly")
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Errorf("err = %v, want ENOTFOUND", err)
			}
		})
	})
}

func TestSaveJobSchedule(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		db := mustOpenJobsDB(t, url, jobsClock)
		ctx := context.Background()

		t.Run("OK", func(t *testing.T) {
			j, err := db.SaveJobSchedule(ctx, domain.JobActive, "*/5 * * * *", true, 1, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if j.CronExpression != "*/5 * * * *" || !j.Enabled || j.Version != 2 || j.UpdatedBy != "alice" || !j.UpdatedAt.Equal(jobsClock) {
				t.Errorf("saved job = %+v", j)
			}
			events, _, err := db.ListAudit(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 {
				t.Fatalf("audit events = %+v, want one", events)
			}
			e := events[0]
			if e.Action != domain.AuditScheduleSave || e.Actor != "alice" || e.Target != "active" ||
				e.Detail != "expression 0 2 * * * → */5 * * * *; enabled false → true" {
				t.Errorf("audit event = %+v", e)
			}
		})

		t.Run("ErrConflictStaleVersion", func(t *testing.T) {
			// Bob opened the form at version 1, before Alice's save.
			_, err := db.SaveJobSchedule(ctx, domain.JobActive, "0 3 * * *", false, 1, "bob")
			if domain.ErrorCode(err) != domain.ECONFLICT {
				t.Fatalf("err = %v, want ECONFLICT", err)
			}
			want := "This job was changed by alice at 2026-05-04 09:15:00 UTC since you opened it; reload to see the change"
			if domain.ErrorMessage(err) != want {
				t.Errorf("message = %q, want %q", domain.ErrorMessage(err), want)
			}
			j, err := db.GetJob(ctx, domain.JobActive)
			if err != nil {
				t.Fatal(err)
			}
			if j.CronExpression != "*/5 * * * *" || j.Version != 2 {
				t.Errorf("a refused save changed the job: %+v", j)
			}
			if _, n, _ := db.ListAudit(ctx, 0, 10); n != 1 {
				t.Errorf("a refused save wrote an audit event: %d events", n)
			}
		})

		t.Run("UnchangedWritesNothing", func(t *testing.T) {
			j, err := db.SaveJobSchedule(ctx, domain.JobActive, "*/5 * * * *", true, 2, "carol")
			if err != nil {
				t.Fatal(err)
			}
			if j.Version != 2 || j.UpdatedBy != "alice" {
				t.Errorf("unchanged save bumped the job: %+v", j)
			}
			if _, n, _ := db.ListAudit(ctx, 0, 10); n != 1 {
				t.Errorf("unchanged save wrote an audit event: %d events", n)
			}
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := db.SaveJobSchedule(ctx, "nightly", "0 3 * * *", true, 1, "alice")
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Errorf("err = %v, want ENOTFOUND", err)
			}
		})

		t.Run("ConcurrentSavesOneWins", func(t *testing.T) { concurrentSavesOneWins(t, db) })
	})
}

func concurrentSavesOneWins(t *testing.T, db *store.DB) {
	ctx := context.Background()
	j, err := db.GetJob(ctx, domain.JobInactive)
	if err != nil {
		t.Fatal(err)
	}
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			expr := []string{"0 1 * * *", "0 2 * * *", "0 3 * * *", "0 4 * * *"}[i]
			_, err := db.SaveJobSchedule(ctx, domain.JobInactive, expr, true, j.Version, "admin")
			switch domain.ErrorCode(err) {
			case "":
				wins.Add(1)
			case domain.ECONFLICT:
				conflicts.Add(1)
			default:
				t.Errorf("save: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 3 {
		t.Errorf("wins = %d, conflicts = %d; want 1 and 3", wins.Load(), conflicts.Load())
	}
}

func TestSetJobScheduleState(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		db := mustOpenJobsDB(t, url, jobsClock)
		ctx := context.Background()
		before, err := db.GetJob(ctx, domain.JobActive)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("Scheduled", func(t *testing.T) {
			stockholm, err := time.LoadLocation("Europe/Stockholm")
			if err != nil {
				t.Fatal(err)
			}
			next := time.Date(2026, 5, 5, 2, 0, 0, 0, stockholm)
			if err := db.SetJobScheduleState(ctx, domain.JobActive, &next, ""); err != nil {
				t.Fatal(err)
			}
			j, err := db.GetJob(ctx, domain.JobActive)
			if err != nil {
				t.Fatal(err)
			}
			if j.NextRunAt == nil || !j.NextRunAt.Equal(next) || j.ScheduleError != "" {
				t.Errorf("state = next %v, error %q; want %v", j.NextRunAt, j.ScheduleError, next)
			}
			if j.Version != before.Version || !j.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("scheduler state changed the definition's version or time: %+v", j)
			}
		})
		t.Run("Unscheduled", func(t *testing.T) {
			if err := db.SetJobScheduleState(ctx, domain.JobActive, nil, "minute: 61 is out of range 0–59"); err != nil {
				t.Fatal(err)
			}
			j, err := db.GetJob(ctx, domain.JobActive)
			if err != nil {
				t.Fatal(err)
			}
			if j.NextRunAt != nil || j.ScheduleError != "minute: 61 is out of range 0–59" {
				t.Errorf("state = next %v, error %q", j.NextRunAt, j.ScheduleError)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			err := db.SetJobScheduleState(ctx, "nightly", nil, "")
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Errorf("err = %v, want ENOTFOUND", err)
			}
		})
	})
}

func TestClaimJobSlot(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		db := mustOpenJobsDB(t, url, jobsClock)
		ctx := context.Background()
		slot := time.Date(2026, 5, 5, 2, 30, 0, 0, time.UTC)
		stockholm, err := time.LoadLocation("Europe/Stockholm")
		if err != nil {
			t.Fatal(err)
		}

		steps := []struct {
			name string
			key  domain.JobKey
			slot time.Time
			want bool
		}{
			{"FirstClaimWins", domain.JobActive, slot, true},
			{"SameSlotRefused", domain.JobActive, slot, false},
			// Another instance, its clock a little ahead, in another zone.
			{"SameSlotOtherZoneAndFractionRefused", domain.JobActive, slot.In(stockholm).Add(400 * time.Millisecond), false},
			{"EarlierSlotRefused", domain.JobActive, slot.Add(-time.Minute), false},
			{"OtherJobIndependent", domain.JobInactive, slot, true},
			{"NextSlotWins", domain.JobActive, slot.Add(time.Second), true},
			{"UnknownJobRefused", "nightly", slot, false},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				got, err := db.ClaimJobSlot(ctx, s.key, s.slot)
				if err != nil {
					t.Fatal(err)
				}
				if got != s.want {
					t.Errorf("ClaimJobSlot(%s, %v) = %v, want %v", s.key, s.slot, got, s.want)
				}
			})
		}

		t.Run("ConcurrentClaimsOneWins", func(t *testing.T) {
			next := slot.Add(time.Hour)
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					ok, err := db.ClaimJobSlot(ctx, domain.JobActive, next)
					if err != nil {
						t.Errorf("claim: %v", err)
					}
					if ok {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Errorf("%d claims won the same slot, want 1", wins.Load())
			}
		})
	})
}
