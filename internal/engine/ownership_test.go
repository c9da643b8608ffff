package engine_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
	"idm/internal/testenv"
)

// freezingStore is an instance's store that can freeze, as a process does
// under SIGSTOP: from the first ApplyChanges on (the run then holds a planned
// page in memory) until thaw, every write of the run waits.
type freezingStore struct {
	engine.Store

	mu     sync.Mutex
	frozen chan struct{} // closed when frozen
	thawed chan struct{} // closed by thaw
}

func newFreezingStore(db *store.DB) *freezingStore {
	return &freezingStore{Store: db, frozen: make(chan struct{}), thawed: make(chan struct{})}
}

// wait blocks while the store is frozen; freeze freezes it first.
func (f *freezingStore) wait(freeze bool) {
	f.mu.Lock()
	select {
	case <-f.frozen:
	default:
		if freeze {
			close(f.frozen)
		}
	}
	f.mu.Unlock()
	select {
	case <-f.frozen:
		<-f.thawed
	default:
	}
}

func (f *freezingStore) thaw() { close(f.thawed) }

func (f *freezingStore) ApplyChanges(ctx context.Context, c []*store.UserChange, now time.Time, by string) ([]store.FailedChange, error) {
	f.wait(true)
	return f.Store.ApplyChanges(ctx, c, now, by)
}

func (f *freezingStore) Heartbeat(ctx context.Context, id string) error {
	f.wait(false)
	return f.Store.Heartbeat(ctx, id)
}

func (f *freezingStore) UpdateRunProgress(ctx context.Context, r *domain.Run) error {
	f.wait(false)
	return f.Store.UpdateRunProgress(ctx, r)
}

func (f *freezingStore) AddRunItems(ctx context.Context, items []domain.RunItem) error {
	f.wait(false)
	return f.Store.AddRunItems(ctx, items)
}

func (f *freezingStore) FinishRun(ctx context.Context, r *domain.Run) error {
	f.wait(false)
	return f.Store.FinishRun(ctx, r)
}

// cluster is two instances of one PostgreSQL database, each its own store
// handle (its own sessions), and the directory they read.
type cluster struct {
	t      *testing.T
	dbA    *store.DB
	dbB    *store.DB
	frozen *freezingStore // instance A's store
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	url := testenv.PostgresURL(t)
	c := &cluster{t: t, dbA: testenv.MustOpenDB(t, url), dbB: testenv.MustOpenDB(t, url)}
	c.frozen = newFreezingStore(c.dbA)
	s := domain.DefaultLDAPSettings()
	s.URL, s.BaseDN = "ldap://fake", "dc=example,dc=com"
	if _, err := c.dbA.SaveLDAPSettings(context.Background(), s, "test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// engine is an instance over db reading dir; now is its clock.
func (c *cluster) engine(db engine.Store, name string, dir engine.Source, stale time.Duration, now func() time.Time) *engine.Engine {
	e := engine.New(engine.Deps{
		DB: db, Instance: name, Logger: slog.New(slog.DiscardHandler), StaleAfter: stale, Now: now,
		Dial: func(context.Context, domain.LDAPSettings, string) (engine.Source, error) { return dir, nil },
	})
	c.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e
}

// named are entries a, b, c, d with given name given.
func named(given string) []directory.Entry {
	page := people("a", "b", "c", "d")
	for i := range page {
		page[i].Person.GivenName = given
	}
	return page
}

// runOn runs the active job on eng to its end.
func runOn(t *testing.T, eng *engine.Engine) *domain.Run {
	t.Helper()
	r, err := eng.Run(context.Background(), domain.JobActive, engine.RunOptions{Trigger: domain.TriggerCLI, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// startWhenFree starts the active job on eng as soon as the store lets it,
// within limit, and returns the run and how long that took.
func startWhenFree(t *testing.T, eng *engine.Engine, limit time.Duration) (*engine.Handle, time.Duration) {
	t.Helper()
	from := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		h, err := eng.Start(ctx, domain.JobActive, engine.RunOptions{Trigger: domain.TriggerSchedule, By: engine.ActorScheduler})
		cancel()
		if err == nil {
			return h, time.Since(from)
		}
		if domain.ErrorCode(err) != domain.ECONFLICT || time.Since(from) > limit {
			t.Fatalf("start on the other instance after %v: %v", time.Since(from), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// successor is instance B, whose directory gives the name V3, once a run on
// B has stored every user with the given name V1.
func (c *cluster) successor(stale time.Duration) *engine.Engine {
	c.t.Helper()
	seed := c.engine(c.dbB, "node-b", &fakeDirectory{pages: [][]directory.Entry{named("V1")}}, stale, nil)
	wantStatus(c.t, runOn(c.t, seed), domain.RunSucceeded)
	return c.engine(c.dbB, "node-b", &fakeDirectory{pages: [][]directory.Entry{named("V3")}}, stale, nil)
}

// mustWait waits for the run of h to end.
func mustWait(t *testing.T, h *engine.Handle) *domain.Run {
	t.Helper()
	r, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// frozenRun starts the active job on instance A (directory given name V2)
// and returns once A is frozen holding its planned page.
func (c *cluster) frozenRun(stale time.Duration) (*engine.Handle, *domain.Run) {
	c.t.Helper()
	engA := c.engine(c.frozen, "node-a", &fakeDirectory{pages: [][]directory.Entry{named("V2")}}, stale, nil)
	h, err := engA.Start(context.Background(), domain.JobActive, engine.RunOptions{Trigger: domain.TriggerSchedule, By: engine.ActorScheduler})
	if err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.frozen.frozen:
	case <-time.After(20 * time.Second):
		c.t.Fatal("instance A did not reach its first write")
	}
	run, err := c.dbB.GetRun(context.Background(), h.Run().ID)
	if err != nil {
		c.t.Fatal(err)
	}
	return h, run
}

// wantTakenOver thaws A and checks that its run wrote nothing more: its
// record is the one B wrote, and every user has B's given name.
func (c *cluster) wantTakenOver(hA *engine.Handle, wantMessage string) {
	c.t.Helper()
	c.frozen.thaw()
	final, err := hA.Wait()
	if err != nil || final.Status != domain.RunAborted || !strings.Contains(final.Message, wantMessage) {
		c.t.Errorf("A's run after it woke: %+v, %v; want aborted saying %q", final, err, wantMessage)
	}
	if items := mustItems(c.t, c.dbB, hA.Run().ID); len(items) != 0 {
		c.t.Errorf("A wrote %d run items after it was taken over", len(items))
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		u, err := c.dbB.UserByUsername(context.Background(), name)
		if err != nil || u.GivenName != "V3" {
			c.t.Errorf("user %s after A woke: %+v, %v; want B's given name V3 (A's plan, V2, flipped it back)", name, u, err)
		}
	}
}

func mustItems(t *testing.T, db *store.DB, runID string) []domain.RunItem {
	t.Helper()
	items, _, err := db.ListRunItems(context.Background(), runID, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// TestFrozenOwnerTakenOver: an instance frozen in the middle of a page
// transaction (SIGSTOP) holds its locks; once its heartbeat is stale,
// another instance ends its sessions, records its run as aborted and runs;
// when it wakes it writes nothing (its planned page would flip the
// successor's work back).
func TestFrozenOwnerTakenOver(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	const stale = 2 * time.Second
	engB := c.successor(stale)
	hA, run := c.frozenRun(stale)
	// Frozen inside its page transaction: the run's row stays locked by A.
	release := testenv.HoldRunRow(t, c.dbA, run.ID)
	defer release()

	hB, took := startWhenFree(t, engB, stale+15*time.Second)
	t.Logf("instance B started %v after A froze (stale window %v)", took, stale)
	if took < stale-time.Second {
		t.Errorf("B started %v after A froze, before A's heartbeat was stale (%v)", took, stale)
	}
	wantStatus(t, mustWait(t, hB), domain.RunSucceeded)
	c.wantTakenOver(hA, "stopped answering")
}

// TestKilledOwnerAbortedAtOnce: an instance killed in the middle of a run
// (kill -9: its sessions end at once, its heartbeat still looks fresh) has
// its run aborted within moments by another instance's watch, which then
// runs the job; the default stale window of two minutes plays no part.
func TestKilledOwnerAbortedAtOnce(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	engB := c.successor(0)
	hA, run := c.frozenRun(0)

	killedAt := time.Now()
	if n := testenv.EndSessions(t, c.dbB, run.Owner); n == 0 {
		t.Fatal("instance A had no session to end")
	}
	watch, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	watcher := engine.New(engine.Deps{DB: c.dbB, Instance: "node-c", Logger: slog.New(slog.DiscardHandler), HeartbeatEvery: 100 * time.Millisecond})
	go watcher.Watch(watch)
	for {
		got, err := c.dbB.GetRun(context.Background(), run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == domain.RunAborted {
			t.Logf("A's run aborted %v after A was killed", time.Since(killedAt))
			break
		}
		if time.Since(killedAt) > 10*time.Second {
			t.Fatalf("A's run still %s 10s after A was killed", got.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	hB, _ := startWhenFree(t, engB, 0)
	wantStatus(t, mustWait(t, hB), domain.RunSucceeded)
	c.wantTakenOver(hA, "database session ended")
}

// TestSkewedClocksKeepLiveRun: an instance whose clock is 30 seconds ahead
// (more than the stale window) does not take a live run of another over,
// and one 30 seconds behind still sees it as live: the heartbeat is written
// and judged on the database's clock.
func TestSkewedClocksKeepLiveRun(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	const stale = 10 * time.Second
	engA := c.engine(c.dbA, "node-a", &slowDirectory{hold: time.Minute}, stale, nil)
	h, err := engA.Start(context.Background(), domain.JobActive, engine.RunOptions{Trigger: domain.TriggerCLI, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, skew := range []time.Duration{30 * time.Second, -30 * time.Second} {
		clock := func() time.Time { return time.Now().UTC().Add(skew) }
		other := c.engine(c.dbB, "node-b", &fakeDirectory{}, stale, clock)
		if n, err := other.Recover(context.Background()); err != nil || n != 0 {
			t.Errorf("clock %v: Recover aborted %d runs (%v), want none", skew, n, err)
		}
		if _, err := other.Start(context.Background(), domain.JobInactive, engine.RunOptions{Trigger: domain.TriggerCLI}); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Errorf("clock %v: Start beside a live run: %v, want a conflict", skew, err)
		}
	}
	if got, err := c.dbB.GetRun(context.Background(), h.Run().ID); err != nil || got.Status != domain.RunRunning {
		t.Errorf("A's live run: %+v, %v; want it running", got, err)
	}
}

// TestDatabaseBlipDuringRun: PostgreSQL stopped during a run and started
// again a few seconds later. The run's work ends (its write fails), the
// instance knows at once that it no longer runs it, Run now during the
// outage fails for the database rather than as "already running", the run
// has its final record within seconds of the database's return, and Run now
// works again at once.
func TestDatabaseBlipDuringRun(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	db := testenv.MustOpenDB(t, pg.NewDatabase(t))
	reached, stopped := make(chan struct{}), make(chan struct{})
	var once sync.Once
	dir := &fakeDirectory{pages: [][]directory.Entry{people("a", "b"), people("c", "d")}}
	eng := fakeEngine(t, db, dir, 0)
	h, err := eng.Start(context.Background(), domain.JobActive, engine.RunOptions{Trigger: domain.TriggerManual, By: "olga",
		Progress: func(domain.Run) { once.Do(func() { close(reached); <-stopped }) }})
	if err != nil {
		t.Fatal(err)
	}
	<-reached
	pg.Stop()
	close(stopped)
	waitUntil(t, 10*time.Second, "the run's slot to be free", func() bool { _, running := eng.Status(domain.JobActive); return !running })
	if _, err := eng.Start(context.Background(), domain.JobActive, engine.RunOptions{}); err == nil || domain.ErrorCode(err) == domain.ECONFLICT {
		t.Errorf("Run now with the database down: %v, want a database error, not a conflict", err)
	}
	time.Sleep(2 * time.Second)

	pg.Start()
	back := time.Now()
	waitUntil(t, 15*time.Second, "the run's final record", func() bool {
		r, err := db.GetRun(context.Background(), h.Run().ID)
		return err == nil && r.Status != domain.RunRunning
	})
	t.Logf("final record %v after the database returned", time.Since(back))
	r, _ := db.GetRun(context.Background(), h.Run().ID)
	if r.Status != domain.RunFailed || r.FinishedAt == nil {
		t.Errorf("final record %s %q, want failed with its end time", r.Status, r.Message)
	}
	h2, err := eng.Start(context.Background(), domain.JobActive, engine.RunOptions{Trigger: domain.TriggerManual, By: "olga"})
	if err != nil {
		t.Fatalf("Run now after the database returned: %v", err)
	}
	wantStatus(t, mustWait(t, h2), domain.RunSucceeded)
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
