package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

func newRun(key domain.JobKey, instance string, beat time.Time) *domain.Run {
	return &domain.Run{ID: store.NewID(), JobKey: key, Trigger: domain.TriggerSchedule, Status: domain.RunRunning,
		StartedAt: beat, HeartbeatAt: beat, Instance: instance}
}

// TestCreateRunJudgesOtherRuns: CreateRun aborts another handle's running
// run whose process is gone (on PostgreSQL its lease is free, whatever its
// heartbeat; on SQLite its heartbeat is stale) and refuses beside a live
// one; a run of its own handle is running whatever its heartbeat.
func TestCreateRunJudgesOtherRuns(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		pg := db.Dialect == store.DialectPostgres
		for _, tc := range []struct {
			name      string
			owner     string
			age       time.Duration
			wantStart bool
		}{
			{"OtherStaleAborted", "idm-gone", time.Hour, true},
			// Without a lease on PostgreSQL, its process is gone however fresh it looks.
			{"OtherFreshAliveUnlessItsSessionIsGone", "idm-gone", 0, pg},
			{"WithoutOwnerStaleAborted", "", time.Hour, true},
			{"WithoutOwnerFreshAlive", "", 0, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				other := newRun(domain.JobInactive, "node-9", db.Now().Add(-tc.age))
				other.Owner = tc.owner
				testenv.InsertRun(t, db, other)
				mine := newRun(domain.JobActive, "node-1", db.Now())
				err := db.CreateRun(ctx, mine, time.Minute)
				got, _ := db.GetRun(ctx, other.ID)
				if tc.wantStart {
					if err != nil || got.Status != domain.RunAborted {
						t.Fatalf("start: %v; the other run %s, want it aborted", err, got.Status)
					}
					finish(t, db, mine)
					return
				}
				if domain.ErrorCode(err) != domain.ECONFLICT || got.Status != domain.RunRunning {
					t.Fatalf("start: %v; the other run %s, want a conflict and the other running", err, got.Status)
				}
				abortAll(t, url)
			})
		}
		t.Run("OwnRunNeverStale", func(t *testing.T) {
			mine := newRun(domain.JobActive, "node-1", db.Now())
			if err := db.CreateRun(ctx, mine, time.Minute); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			if err := db.CreateRun(ctx, newRun(domain.JobInactive, "node-1", db.Now()), time.Millisecond); domain.ErrorCode(err) != domain.ECONFLICT {
				t.Errorf("start beside this handle's own run with a stale heartbeat: %v, want a conflict", err)
			}
			finish(t, db, mine)
		})
	})
}

// finish records r as succeeded.
func finish(t *testing.T, db *store.DB, r *domain.Run) {
	t.Helper()
	fin := db.Now()
	r.Status, r.FinishedAt = domain.RunSucceeded, &fin
	if err := db.FinishRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// abortAll aborts every run left running, through another handle (whose
// stale window of a nanosecond makes every other run stale).
func abortAll(t *testing.T, url string) {
	t.Helper()
	time.Sleep(time.Millisecond)
	if _, err := testenv.MustOpenDB(t, url).AbortStaleRuns(context.Background(), "", time.Nanosecond); err != nil {
		t.Fatal(err)
	}
}

// TestTakenOverRunWritesNothing: once another instance has recorded a run's
// end (it found the run's process dead), every write of that run fails
// with ErrRunTakenOver and changes nothing: no user, no item, no progress,
// and its final record does not replace the one the other instance wrote.
func TestTakenOverRunWritesNothing(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, successor := testenv.MustOpenDB(t, url), testenv.MustOpenDB(t, url)
		r := newRun(domain.JobActive, "node-1", db.Now())
		if err := db.CreateRun(ctx, r, time.Minute); err != nil {
			t.Fatal(err)
		}
		if db.Dialect == store.DialectPostgres {
			// Its process dies: its sessions, and its lease, end.
			testenv.EndSessions(t, successor, r.Owner)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
		if n, err := successor.AbortStaleRuns(ctx, "", 5*time.Millisecond); err != nil || n != 1 {
			t.Fatalf("the successor aborted %d runs, %v; want 1", n, err)
		}

		runCtx := store.ForRun(ctx, r.ID)
		u := newUser("late", "")
		item := domain.RunItem{RunID: r.ID, Seq: 1, Username: "late", Outcome: domain.OutcomeCreated}
		_, applyErr := db.ApplyChanges(runCtx, []*store.UserChange{{Create: u, Item: &item}}, db.Now(), r.ID)
		fin := db.Now()
		r.Status, r.FinishedAt, r.Read = domain.RunSucceeded, &fin, 99
		for name, err := range map[string]error{
			"ApplyChanges":      applyErr,
			"AddRunItems":       db.AddRunItems(runCtx, []domain.RunItem{item}),
			"UpdateRunProgress": db.UpdateRunProgress(ctx, r),
			"Heartbeat":         db.Heartbeat(ctx, r.ID),
			"FinishRun":         db.FinishRun(ctx, r),
		} {
			if !errors.Is(err, store.ErrRunTakenOver) {
				t.Errorf("%s: %v, want ErrRunTakenOver", name, err)
			}
		}
		if _, err := db.UserByUsername(ctx, "late"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("the taken-over run created a user: %v", err)
		}
		if items := mustRunItems(t, db, r.ID); len(items) != 0 {
			t.Errorf("the taken-over run wrote %d items", len(items))
		}
		got, err := db.GetRun(ctx, r.ID)
		if err != nil || got.Status != domain.RunAborted || got.Read != 0 {
			t.Errorf("record: %+v, %v; want the successor's: aborted, nothing read", got, err)
		}
	})
}

func mustRunItems(t *testing.T, db *store.DB, runID string) []domain.RunItem {
	t.Helper()
	items, _, err := db.ListRunItems(context.Background(), runID, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return items
}
