package scheduler_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/scheduler"
	"idm/internal/store"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fakeRunner records scheduled runs. Its behaviour per call is run's; the
// default returns at once.
type fakeRunner struct {
	run func(ctx context.Context, key domain.JobKey) error

	mu        sync.Mutex
	calls     []call
	active    map[domain.JobKey]int
	maxActive map[domain.JobKey]int
}

type call struct {
	key domain.JobKey
	at  time.Time
}

func newFakeRunner(run func(ctx context.Context, key domain.JobKey) error) *fakeRunner {
	return &fakeRunner{run: run, active: map[domain.JobKey]int{}, maxActive: map[domain.JobKey]int{}}
}

func (r *fakeRunner) RunScheduled(ctx context.Context, key domain.JobKey) error {
	r.mu.Lock()
	r.calls = append(r.calls, call{key, time.Now()})
	r.active[key]++
	r.maxActive[key] = max(r.maxActive[key], r.active[key])
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.active[key]--
		r.mu.Unlock()
	}()
	if r.run != nil {
		return r.run(ctx, key)
	}
	return nil
}

func (r *fakeRunner) count(key domain.JobKey) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls) - len(slices.DeleteFunc(slices.Clone(r.calls), func(c call) bool { return c.key == key }))
}

// wantNoRun fails with complaint when key has run.
func (r *fakeRunner) wantNoRun(t *testing.T, key domain.JobKey, complaint string) {
	t.Helper()
	if r.count(key) != 0 {
		t.Error(complaint)
	}
}

func (r *fakeRunner) max(key domain.JobKey) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxActive[key]
}

// scheduledDB is a fresh store with the active job enabled on expr.
func scheduledDB(t *testing.T, expr string) *store.DB {
	t.Helper()
	db := testenv.MustOpenDB(t, testenv.SQLiteURL(t))
	setSchedule(t, db, domain.JobActive, expr, true)
	return db
}

// setSchedule saves a job's schedule as an administrator would.
func setSchedule(t *testing.T, db *store.DB, key domain.JobKey, expr string, enabled bool) {
	t.Helper()
	ctx := context.Background()
	j := storedJob(t, db, key)
	if _, err := db.SaveJobSchedule(ctx, key, expr, enabled, j.Version, "test"); err != nil {
		t.Fatal(err)
	}
}

// storedJob is the job key as the store holds it.
func storedJob(t *testing.T, db *store.DB, key domain.JobKey) *domain.Job {
	t.Helper()
	j, err := db.GetJob(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func mustStart(t *testing.T, db scheduler.JobStore, r scheduler.Runner, opts scheduler.Options) *scheduler.Scheduler {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := scheduler.New(db, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEverySecondFires(t *testing.T) {
	t.Parallel()
	db := scheduledDB(t, "*/1 * * * * *")
	r := newFakeRunner(nil)
	s := mustStart(t, db, r, scheduler.Options{})

	next, ok := s.NextRun(domain.JobActive)
	if !ok || next.Before(time.Now().Add(-time.Second)) || next.After(time.Now().Add(2*time.Second)) {
		t.Errorf("NextRun = %v, %v; want within the next second", next, ok)
	}
	if _, ok := s.NextRun(domain.JobInactive); ok {
		t.Errorf("the disabled job has a next run")
	}
	waitFor(t, 3*time.Second, "a scheduled run", func() bool { return r.count(domain.JobActive) >= 1 })

	j := storedJob(t, db, domain.JobActive)
	if j.NextRunAt == nil || j.LastFiredSlot == nil || j.ScheduleError != "" {
		t.Errorf("stored state: next %v, last slot %v, error %q", j.NextRunAt, j.LastFiredSlot, j.ScheduleError)
	}
	r.wantNoRun(t, domain.JobInactive, "the disabled job ran")
}

func TestReschedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := scheduledDB(t, "0 0 1 1 *")
	r := newFakeRunner(nil)
	s := mustStart(t, db, r, scheduler.Options{})

	first, ok := s.NextRun(domain.JobActive)
	if !ok || first.Before(time.Now().Add(24*time.Hour)) {
		t.Fatalf("NextRun = %v, %v; want next 1 January", first, ok)
	}

	t.Run("NewExpressionAtOnce", func(t *testing.T) {
		setSchedule(t, db, domain.JobActive, "*/1 * * * * *", true)
		if err := s.Reschedule(ctx, domain.JobActive); err != nil {
			t.Fatal(err)
		}
		next, ok := s.NextRun(domain.JobActive)
		if !ok || next.After(time.Now().Add(2*time.Second)) {
			t.Errorf("NextRun after reschedule = %v, %v; want within a second", next, ok)
		}
		j := storedJob(t, db, domain.JobActive)
		if j.NextRunAt == nil || !j.NextRunAt.Equal(next) {
			t.Errorf("stored next run = %v, want %v", j.NextRunAt, next)
		}
		waitFor(t, 3*time.Second, "a run on the new schedule", func() bool { return r.count(domain.JobActive) >= 1 })
	})

	t.Run("DisableStopsRuns", func(t *testing.T) { rescheduleDisableStopsRuns(t, db, s, r) })

	t.Run("InvalidSaveUnschedulesWithReason", func(t *testing.T) {
		setSchedule(t, db, domain.JobActive, "0 0 30 2 *", true)
		if err := s.Reschedule(ctx, domain.JobActive); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.NextRun(domain.JobActive); ok {
			t.Errorf("an invalid expression is scheduled")
		}
		j := storedJob(t, db, domain.JobActive)
		if j.ScheduleError != "never runs: February has no 30th day" || j.NextRunAt != nil {
			t.Errorf("stored state: error %q, next %v", j.ScheduleError, j.NextRunAt)
		}
	})

	t.Run("ValidAgainClearsReason", func(t *testing.T) {
		setSchedule(t, db, domain.JobActive, "@every 1h", true)
		if err := s.Reschedule(ctx, domain.JobActive); err != nil {
			t.Fatal(err)
		}
		next, ok := s.NextRun(domain.JobActive)
		if want := time.Now().Truncate(time.Hour).Add(time.Hour); !ok || !next.Equal(want) {
			t.Errorf("NextRun = %v, %v; want the next whole hour %v", next, ok, want)
		}
		j := storedJob(t, db, domain.JobActive)
		if j.ScheduleError != "" || j.NextRunAt == nil {
			t.Errorf("stored state: error %q, next %v", j.ScheduleError, j.NextRunAt)
		}
	})
}

func rescheduleDisableStopsRuns(t *testing.T, db *store.DB, s *scheduler.Scheduler, r *fakeRunner) {
	ctx := context.Background()
	setSchedule(t, db, domain.JobActive, "*/1 * * * * *", false)
	if err := s.Reschedule(ctx, domain.JobActive); err != nil {
		t.Fatal(err)
	}
	if next, ok := s.NextRun(domain.JobActive); ok {
		t.Errorf("a disabled job has NextRun %v", next)
	}
	time.Sleep(100 * time.Millisecond) // a run that had just started may still record
	before := r.count(domain.JobActive)
	time.Sleep(1500 * time.Millisecond)
	if after := r.count(domain.JobActive); after != before {
		t.Errorf("%d runs after disabling", after-before)
	}
	j := storedJob(t, db, domain.JobActive)
	if j.NextRunAt != nil {
		t.Errorf("a disabled job has a stored next run %v", j.NextRunAt)
	}
}

func TestInvalidExpressionInDatabase(t *testing.T) {
	t.Parallel()
	db := scheduledDB(t, "61 * * * *")
	setSchedule(t, db, domain.JobInactive, "*/1 * * * * *", true)
	r := newFakeRunner(nil)
	s := mustStart(t, db, r, scheduler.Options{})

	if next, ok := s.NextRun(domain.JobActive); ok {
		t.Errorf("invalid job scheduled for %v", next)
	}
	j := storedJob(t, db, domain.JobActive)
	if j.ScheduleError != "minute: 61 is out of range 0–59" || j.NextRunAt != nil {
		t.Errorf("stored state: error %q, next %v", j.ScheduleError, j.NextRunAt)
	}
	waitFor(t, 3*time.Second, "the valid job to run", func() bool { return r.count(domain.JobInactive) >= 1 })
	r.wantNoRun(t, domain.JobActive, "the invalid job ran")
}

// TestSingleton: a run that outlasts its interval is never overlapped, not
// even when a save replaces the gocron job mid-run, and the save does not
// cancel the run.
func TestSingleton(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := scheduledDB(t, "*/1 * * * * *")
	started := make(chan struct{}, 10)
	var cancelled sync.Map
	r := newFakeRunner(func(ctx context.Context, key domain.JobKey) error {
		started <- struct{}{}
		select {
		case <-time.After(2200 * time.Millisecond):
			return nil
		case <-ctx.Done():
			cancelled.Store(time.Now(), true)
			return ctx.Err()
		}
	})
	s := mustStart(t, db, r, scheduler.Options{})

	select {
	case <-started:
	case <-time.After(3 * time.Second):
		t.Fatal("no run started")
	}
	// Mid-run: the administrator saves a new expression.
	setSchedule(t, db, domain.JobActive, "* * * * * *", true)
	if err := s.Reschedule(ctx, domain.JobActive); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond)

	if m := r.max(domain.JobActive); m != 1 {
		t.Errorf("runner called %d times at once for one job", m)
	}
	if n := r.count(domain.JobActive); n < 2 {
		t.Errorf("%d runs in about 4.5s; want the job to run again after the slow run", n)
	}
	cancelled.Range(func(k, _ any) bool {
		t.Errorf("a run was cancelled at %v", k)
		return true
	})
}

// TestStop: Stop fires no more, stops waiting for the run in progress (the
// run's grace period is the engine's: see the engine's TestShutdown) and
// returns only once its task has returned.
func TestStop(t *testing.T) {
	t.Parallel()
	db := scheduledDB(t, "*/1 * * * * *")
	started := make(chan struct{}, 10)
	var mu sync.Mutex
	var returnedAt time.Time
	r := newFakeRunner(func(ctx context.Context, key domain.JobKey) error {
		started <- struct{}{}
		defer func() {
			mu.Lock()
			returnedAt = time.Now()
			mu.Unlock()
		}()
		<-ctx.Done() // a run that outlasts the test: the scheduler stops waiting
		return ctx.Err()
	})
	s, err := scheduler.New(db, r, scheduler.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(3 * time.Second):
		t.Fatal("no run started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped := time.Now()
	time.Sleep(1200 * time.Millisecond) // a slot would have fired by now

	mu.Lock()
	defer mu.Unlock()
	if returnedAt.IsZero() || returnedAt.After(stopped) {
		t.Errorf("Stop returned at %v before its task returned (%v)", stopped, returnedAt)
	}
	if n := r.count(domain.JobActive); n != 1 {
		t.Errorf("%d runs; want no new run after Stop", n)
	}
}

// TestRunnerConflictSkipsSlot: when the engine says the job is busy, the
// scheduler skips the slot and keeps scheduling.
func TestRunnerConflictSkipsSlot(t *testing.T) {
	t.Parallel()
	db := scheduledDB(t, "*/1 * * * * *")
	r := newFakeRunner(func(ctx context.Context, key domain.JobKey) error {
		return domain.Errorf(domain.ECONFLICT, "The inactive job is running.")
	})
	mustStart(t, db, r, scheduler.Options{})
	waitFor(t, 4*time.Second, "two attempts", func() bool { return r.count(domain.JobActive) >= 2 })
}

// TestSlotFiresOnceAcrossInstances runs three schedulers on one database
// whose clocks differ by up to 30 seconds (one 300ms ahead, one 30s ahead):
// each slot is won once in all. The compare-and-set on the fired slot keeps
// slots in order, so the instance whose clock is ahead runs them, each once,
// and the others find them run.
func TestSlotFiresOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, url string) {
		r := newFakeRunner(nil)
		wins := &slotWins{won: map[time.Time]int{}}
		for i, skew := range []time.Duration{0, 300 * time.Millisecond, 30 * time.Second} {
			db := testenv.MustOpenDB(t, url)
			if i == 0 {
				setSchedule(t, db, domain.JobActive, "*/1 * * * * *", true)
			}
			mustStart(t, &claimRecorder{DB: db, wins: wins}, r, scheduler.Options{Now: func() time.Time { return time.Now().Add(skew) }})
		}
		time.Sleep(3500 * time.Millisecond)

		won := wins.all()
		if len(won) < 2 {
			t.Errorf("%d slots won, want at least 2", len(won))
		}
		for slot, n := range won {
			if n > 1 {
				t.Errorf("slot %v won %d times", slot, n)
			}
		}
	})
}

// slotWins counts the slots won, across instances.
type slotWins struct {
	mu  sync.Mutex
	won map[time.Time]int
}

func (w *slotWins) all() map[time.Time]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.won)
}

// claimRecorder is one instance's store, recording the slots it wins.
type claimRecorder struct {
	*store.DB
	wins *slotWins
}

func (c *claimRecorder) ClaimJobSlot(ctx context.Context, key domain.JobKey, slot time.Time) (bool, error) {
	won, err := c.DB.ClaimJobSlot(ctx, key, slot)
	if won {
		c.wins.mu.Lock()
		c.wins.won[slot.UTC().Truncate(time.Second)]++
		c.wins.mu.Unlock()
	}
	return won, err
}

func TestStartFailsWhenStoreFails(t *testing.T) {
	t.Parallel()
	s, err := scheduler.New(failingStore{}, newFakeRunner(nil), scheduler.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Error("Start succeeded without its jobs")
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop after a failed Start: %v", err)
	}
}

type failingStore struct{ scheduler.JobStore }

func (failingStore) ListJobs(context.Context) ([]domain.Job, error) {
	return nil, errors.New("database down")
}
