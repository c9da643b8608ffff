package engine_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
	"idm/internal/testenv"
)

// slowDirectory holds its search for hold (or until ctx ends) before it
// serves one page; it records when ctx ended.
type slowDirectory struct {
	hold time.Duration

	mu          sync.Mutex
	cancelledAt time.Time
}

func (d *slowDirectory) Count(ctx context.Context, _ string) (int, error) { return 1, nil }

func (d *slowDirectory) Search(ctx context.Context, _ string, _ domain.AttributeMap, fn func([]directory.Entry) error) error {
	select {
	case <-time.After(d.hold):
	case <-ctx.Done():
		d.mu.Lock()
		d.cancelledAt = time.Now()
		d.mu.Unlock()
		return ctx.Err()
	}
	return fn(people("a"))
}

func (d *slowDirectory) Close() error { return nil }

func (d *slowDirectory) cancelled() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancelledAt
}

// fakeEngine is an engine over a configured store whose directory is dir.
func fakeEngine(t *testing.T, db *store.DB, dir engine.Source, grace time.Duration) *engine.Engine {
	t.Helper()
	s := domain.DefaultLDAPSettings()
	s.URL, s.BaseDN = "ldap://fake", "dc=example,dc=com"
	if _, err := db.SaveLDAPSettings(context.Background(), s, "test"); err != nil {
		t.Fatal(err)
	}
	return engine.New(engine.Deps{
		DB: db, Logger: slog.New(slog.DiscardHandler), Instance: "test-instance", ShutdownGrace: grace,
		Dial: func(context.Context, domain.LDAPSettings, string) (engine.Source, error) { return dir, nil },
	})
}

// TestShutdown: Shutdown lets a run finish within the grace period, cancels
// one that outlasts it (recorded as aborted), returns only once the run has
// ended, and refuses new runs.
func TestShutdown(t *testing.T) {
	tests := []struct {
		name          string
		runFor        time.Duration
		grace         time.Duration
		wantCancelled bool
		wantStatus    domain.RunStatus
	}{
		{name: "RunOutlastsGraceIsCancelled", runFor: time.Minute, grace: 400 * time.Millisecond, wantCancelled: true, wantStatus: domain.RunAborted},
		{name: "RunWithinGraceFinishes", runFor: 300 * time.Millisecond, grace: 3 * time.Second, wantStatus: domain.RunSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testenv.EachStore(t, func(t *testing.T, url string) {
				db := testenv.MustOpenDB(t, url)
				dir := &slowDirectory{hold: tt.runFor}
				eng := fakeEngine(t, db, dir, tt.grace)
				h, err := eng.Start(context.Background(), domain.JobActive, engine.RunOptions{Trigger: domain.TriggerCLI, By: "test"})
				if err != nil {
					t.Fatal(err)
				}
				stopAt := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := eng.Shutdown(ctx); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
				wantShutdown(t, h, stopAt, dir.cancelled(), tt.grace, tt.wantCancelled, tt.wantStatus)
				if _, err := eng.Start(context.Background(), domain.JobActive, engine.RunOptions{}); domain.ErrorCode(err) != domain.ECONFLICT {
					t.Errorf("Start after Shutdown: %v, want a conflict", err)
				}
			})
		})
	}
}

func wantShutdown(t *testing.T, h *engine.Handle, stopAt, cancelledAt time.Time, grace time.Duration, wantCancelled bool, want domain.RunStatus) {
	t.Helper()
	select {
	case <-h.Done():
	default:
		t.Fatal("Shutdown returned before the run ended")
	}
	r, err := h.Wait()
	if err != nil || r.Status != want {
		t.Errorf("run ended %v (%v), want %s", r.Status, err, want)
	}
	switch {
	case wantCancelled && cancelledAt.IsZero():
		t.Error("the run was not cancelled")
	case wantCancelled && cancelledAt.Sub(stopAt) < grace-50*time.Millisecond:
		t.Errorf("cancelled %v after Shutdown, before the %v grace period", cancelledAt.Sub(stopAt), grace)
	case !wantCancelled && !cancelledAt.IsZero():
		t.Error("a run that finished within the grace period was cancelled")
	}
}

// TestStartAuditsEveryTrigger: Start returns with the run's record and its
// "run started" audit event written, whoever starts it.
func TestStartAuditsEveryTrigger(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		db := testenv.MustOpenDB(t, url)
		eng := fakeEngine(t, db, &slowDirectory{}, 0)
		for _, opts := range []engine.RunOptions{
			{Trigger: domain.TriggerManual, By: "olga"},
			{Trigger: domain.TriggerSchedule, By: engine.ActorScheduler},
			{Trigger: domain.TriggerCLI, By: engine.CLIActor("tester"), DryRun: true},
		} {
			h, err := eng.Start(context.Background(), domain.JobInactive, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := db.GetRun(context.Background(), h.Run().ID); err != nil || got.TriggeredBy != opts.By {
				t.Errorf("run record when Start returned: %+v, %v", got, err)
			}
			events, _, err := db.ListAudit(context.Background(), 0, 1)
			if err != nil || len(events) != 1 || events[0].Action != domain.AuditJobRun || events[0].Actor != opts.By ||
				events[0].Target != "inactive" || events[0].Detail != startedDetail(h.Run()) {
				t.Errorf("newest audit event when Start returned: %+v, %v; want %s starting inactive", events, err, opts.By)
			}
			if _, err := h.Wait(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func startedDetail(r domain.Run) string {
	if r.DryRun {
		return "run " + r.ID + " started (dry run)"
	}
	return "run " + r.ID + " started"
}
