package store_test

import (
	"context"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

func TestRunsSummary(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		base := db.Now().Add(-time.Hour)
		// mk records a run of key that started i minutes after base with
		// status (left running when it is RunRunning) and heartbeat hb.
		mk := func(key domain.JobKey, i int, status domain.RunStatus, dry bool, hb time.Time) *domain.Run {
			at := base.Add(time.Duration(i) * time.Minute)
			r := &domain.Run{ID: store.NewID(), JobKey: key, Trigger: domain.TriggerSchedule, Status: status,
				DryRun: dry, StartedAt: at, HeartbeatAt: hb, RunCounts: domain.RunCounts{Read: i}}
			if status != domain.RunRunning {
				fin := at.Add(time.Second)
				r.FinishedAt = &fin
			}
			// Recorded as they are, so that runs left running can lie side by side.
			testenv.InsertRun(t, db, r)
			return r
		}
		keys := []domain.JobKey{domain.JobActive, domain.JobInactive}

		t.Run("EmptyWhenNoRuns", func(t *testing.T) {
			s, err := db.RunsSummary(ctx, keys, db.Now().Add(-time.Minute))
			if err != nil || len(s.Running) != 0 || len(s.Last) != 0 || len(s.LastSuccessful) != 0 {
				t.Fatalf("summary = %+v, %v; want empty", s, err)
			}
		})

		ok := mk(domain.JobActive, 1, domain.RunSucceeded, false, base)
		mk(domain.JobActive, 2, domain.RunSucceeded, true, base)
		failed := mk(domain.JobActive, 3, domain.RunFailed, false, base)
		dead := mk(domain.JobActive, 4, domain.RunRunning, false, base.Add(4*time.Minute))
		live := mk(domain.JobActive, 5, domain.RunRunning, false, db.Now())
		inactiveOK := mk(domain.JobInactive, 6, domain.RunSucceededWithErrors, false, base)

		s, err := db.RunsSummary(ctx, keys, db.Now().Add(-2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		t.Run("LastIsNewestFinished", func(t *testing.T) {
			if got := s.Last[domain.JobActive]; got.ID != failed.ID || got.Read != 3 || got.Status != domain.RunFailed || got.FinishedAt == nil {
				t.Errorf("last active = %+v, want the failed run 3", got)
			}
			if got := s.Last[domain.JobInactive]; got.ID != inactiveOK.ID {
				t.Errorf("last inactive = %+v, want run 6", got)
			}
		})
		t.Run("LastSuccessfulSkipsDryRunsAndFailures", func(t *testing.T) {
			if got := s.LastSuccessful[domain.JobActive]; got.ID != ok.ID || got.Read != 1 {
				t.Errorf("last successful active = %+v, want run 1", got)
			}
			if got := s.LastSuccessful[domain.JobInactive]; got.ID != inactiveOK.ID {
				t.Errorf("last successful inactive = %+v, want run 6 (with errors counts)", got)
			}
		})
		t.Run("RunningOnlyFresh", func(t *testing.T) {
			if len(s.Running) != 1 || s.Running[0].ID != live.ID || s.Running[0].JobKey != domain.JobActive {
				t.Errorf("running = %+v, want only run 5 (run %s has a stale heartbeat)", s.Running, dead.ID)
			}
		})
		t.Run("SameAsSeparateQueries", func(t *testing.T) { summaryAsSeparateQueries(t, db, s) })
	})
}

func summaryAsSeparateQueries(t *testing.T, db *store.DB, s *store.RunsSummary) {
	ctx := context.Background()
	running, err := db.RunningRuns(ctx, db.Now().Add(-2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != len(s.Running) || running[0].ID != s.Running[0].ID || !running[0].StartedAt.Equal(s.Running[0].StartedAt) {
		t.Errorf("RunningRuns = %+v, summary %+v", running, s.Running)
	}
	last, err := db.LastSuccessfulRun(ctx, domain.JobActive)
	got := s.LastSuccessful[domain.JobActive]
	if err != nil || last == nil || last.ID != got.ID || last.RunCounts != got.RunCounts || !last.StartedAt.Equal(got.StartedAt) ||
		got.FinishedAt == nil || !last.FinishedAt.Equal(*got.FinishedAt) {
		t.Errorf("LastSuccessfulRun = %+v %v, summary %+v", last, err, s.LastSuccessful[domain.JobActive])
	}
}
