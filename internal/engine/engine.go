// Package engine runs the two batch jobs: Synchronize active LDAP Users to
// Identity Manager and Synchronize inactive LDAP Users to Identity Manager,
// with the end states of DESIGN.md §2.
//
// A run streams the directory page by page, the next page read while the
// current one is handled. For each page it looks up the matching users in
// two queries (by stable id, then by username), computes every user's
// change in memory, and writes the page in one transaction: multi-row
// inserts for new users and run items, one UPDATE per target state for
// credentials, certificates and role assignments. When that transaction
// fails, the page is retried user by user so that one bad entry becomes a
// per-user error and cannot sink the others. An unchanged user costs no
// write at all, so a second run with no directory change writes only its
// own run row. The inactive job asks the store once a page which matched
// users still hold anything outside its end state (an aggregate query on
// indexes) and loads only those users' credentials, certificates and
// roles: a run with nothing to change loads none.
//
// Safety stops are decided before the first write:
//
//   - Active job: the directory is counted (a paged search for no
//     attributes) on a second connection while the entries stream. When a
//     last successful run exists to compare with, every planned change is
//     held back in memory until the count arrives; a failed count, or one
//     that shrank by more than the configured share, stops the run with
//     nothing changed and the held changes dropped. Only changes are held
//     (an unchanged user plans none), and only for the time a count takes,
//     about a fourth of a full read. A first run has nothing to compare
//     with and writes at once; the count then only gives the progress total.
//   - Inactive job: a survey reads the whole result once, writing nothing:
//     it decides who would be deactivated and holds the entries that have
//     anything to change (about 200 bytes each, up to Deps.PlanMemory). A
//     failed search, or more deactivations than the limit (unless an
//     administrator allowed the next run past it; the permission is used up
//     by that run), stops the run with nothing changed. The writes then
//     decide each held user again from its user and holdings as they are
//     (the next batch read while the current one is written), without
//     reading the directory again; only a plan too large for the bound is
//     dropped, and then the writes stream the entries a second time.
//
// A search that fails during the write pass (after the checks) ends the run
// as failed, or as stopped by the safety check when nothing was written yet.
// What was committed stays committed, one whole user at a time: every user
// is either fully as before or fully changed, and the next run completes the
// rest. Cancelling the context aborts the run the same way.
//
// The active and the inactive job never run at the same time and a job never
// runs twice at once: the engine refuses a second start in this process, and
// the store refuses it when another instance's run is alive. On PostgreSQL
// the store tells a live run from a dead or frozen one by its owner's
// database session and heartbeat (store/runs_owner.go), and fences every
// write of a run: a process that another instance found dead or frozen, and
// whose run it recorded as aborted, writes nothing more for that run.
//
// Every run, whoever starts it (the scheduler, Run now, idm job run, the API),
// goes through Start, which returns once the run's record and its "run
// started" audit event exist, and ends with Shutdown, which gives the runs in
// progress a grace period, then cancels them: each records itself as aborted,
// with what it had changed.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
)

// Store is what the engine needs of the store: the settings, the run records
// and the identity store's look-ups and batch writer. *store.DB is one.
type Store interface {
	LDAPSettings(ctx context.Context) (domain.LDAPSettings, error)
	ConsumeThresholdOverride(ctx context.Context, runID string) (bool, error)

	AbortStaleRuns(ctx context.Context, instance string, staleAfter time.Duration) (int, error)
	CreateRun(ctx context.Context, r *domain.Run, staleAfter time.Duration, events ...domain.AuditEvent) error
	UpdateRunProgress(ctx context.Context, r *domain.Run) error
	Heartbeat(ctx context.Context, id string) error
	FinishRun(ctx context.Context, r *domain.Run) error
	GetRun(ctx context.Context, id string) (*domain.Run, error)
	LastSuccessfulRun(ctx context.Context, key domain.JobKey) (*domain.Run, error)
	AddRunItems(ctx context.Context, items []domain.RunItem) error

	lookup
	CountUsers(ctx context.Context, state domain.UserState, source string) (int, error)
	EachUser(ctx context.Context, f store.UserFilter, chunk int, fn func([]domain.User) error) error
	ApplyChanges(ctx context.Context, changes []*store.UserChange, now time.Time, withdrawnBy string) ([]store.FailedChange, error)
}

// DefaultStaleAfter is how old a running run's heartbeat may be, by
// default, before the run counts as left behind by a dead process.
const DefaultStaleAfter = 2 * time.Minute

// Deps are what the engine needs.
type Deps struct {
	DB Store
	// Dial connects to the directory; DialDirectory for the real one.
	Dial Dialer
	// OpenSecret decrypts the sealed bind password (secret.Box.Open).
	OpenSecret func(sealed string) (string, error)
	// Instance names this process on the runs it records.
	Instance string
	// Now is the clock; the wall clock in UTC by default.
	Now    func() time.Time
	Logger *slog.Logger
	// StaleAfter is how old another instance's running run's heartbeat may
	// be before its process counts as dead or frozen (default 2 minutes);
	// every instance of a cluster should use the same.
	StaleAfter time.Duration
	// HeartbeatEvery is how often a run proves it is alive, and how often
	// Watch looks for runs left behind (default a sixth of StaleAfter, at
	// most 20s).
	HeartbeatEvery time.Duration
	// ShutdownGrace is how long Shutdown lets runs finish before it cancels
	// them (default none: at once).
	ShutdownGrace time.Duration
	// Observer is told of every run's start and end (default: nobody).
	Observer Observer
	// PlanMemory bounds, in bytes, what the inactive job keeps of its
	// survey for the writes (default 64 MiB, some 300,000 users to change);
	// a larger plan is dropped and the writes read the directory again.
	PlanMemory int
}

// The actors that start runs, as the audit log names them: an account by
// its name (as every change made on a page is audited), the scheduler as
// ActorScheduler, a person at the command line as CLIActor(user).
const ActorScheduler = "scheduler"

// CLIActor names user, a person at the command line.
func CLIActor(user string) string { return "cli:" + user }

// RunOptions say who started a run and how.
type RunOptions struct {
	Trigger string // domain.TriggerSchedule, TriggerManual or TriggerCLI
	By      string // who started it: an account's name, ActorScheduler or CLIActor(user)
	DryRun  bool
	// Progress, when set, receives a copy of the run after each page.
	Progress func(domain.Run)
}

// Engine runs the batch jobs.
type Engine struct {
	db         Store
	dial       Dialer
	openSecret func(string) (string, error)
	instance   string
	now        func() time.Time
	log        *slog.Logger
	staleAfter time.Duration
	beatEvery  time.Duration
	grace      time.Duration
	observer   Observer
	planMemory int

	// lifetime is every run's context: Shutdown cancels it after the grace
	// period. A run never lives on the context of whoever started it (a
	// request ends with its answer).
	lifetime  context.Context
	cancelAll context.CancelFunc

	mu      sync.Mutex // guards the fields below
	running map[domain.JobKey]*Handle
	// ends are the runs whose work is done and whose final record is not
	// written yet (the database did not answer), by run id; see end.go.
	ends   map[string]*pendingEnd
	closed bool
	runs   sync.WaitGroup // one per Handle, until its end is written; Add only under mu while !closed

	// endMu serialises writing ends: a run's own writer and Start's.
	endMu sync.Mutex
	// giveUp is closed when Shutdown stops waiting: end writers stop retrying.
	giveUp     chan struct{}
	giveUpOnce sync.Once
}

// New builds an engine from its dependencies.
func New(d Deps) *Engine {
	e := &Engine{
		db: d.DB, dial: d.Dial, openSecret: d.OpenSecret, instance: d.Instance, now: d.Now, log: d.Logger,
		staleAfter: d.StaleAfter, beatEvery: d.HeartbeatEvery, grace: d.ShutdownGrace, observer: d.Observer,
		planMemory: d.PlanMemory,
		running:    map[domain.JobKey]*Handle{}, ends: map[string]*pendingEnd{}, giveUp: make(chan struct{}),
	}
	e.lifetime, e.cancelAll = context.WithCancel(context.Background())
	if e.now == nil {
		e.now = func() time.Time { return time.Now().UTC() }
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.observer == nil {
		e.observer = Observers(nil)
	}
	if e.staleAfter <= 0 {
		e.staleAfter = DefaultStaleAfter
	}
	if e.beatEvery <= 0 {
		// At most 20s: the Operator pages count a run as running while its
		// heartbeat is under two minutes old, whatever the stale window.
		e.beatEvery = min(e.staleAfter/6, 20*time.Second)
	}
	if e.planMemory <= 0 {
		e.planMemory = defaultPlanMemory
	}
	if e.openSecret == nil {
		e.openSecret = func(s string) (string, error) {
			if s != "" {
				return "", errors.New("engine: no secret box to open the bind password")
			}
			return "", nil
		}
	}
	return e
}

// Handle is a run that Start started.
type Handle struct {
	started domain.Run
	cancel  context.CancelFunc
	done    chan struct{}
	settled sync.Once

	snap  domain.Run // the live copy, under the engine's mu
	final *domain.Run
	err   error
}

// settle ends the wait for h with its final record; the first call counts.
func (h *Handle) settle(final *domain.Run, err error) {
	h.settled.Do(func() {
		h.final, h.err = final, err
		close(h.done)
	})
}

// Run is the run's record as Start created it.
func (h *Handle) Run() domain.Run { return h.started }

// Done is closed when the run has ended and its final record is written, or
// could not be written within a bounded time (the engine then goes on trying
// in the background until the database answers).
func (h *Handle) Done() <-chan struct{} { return h.done }

// Wait waits for the run's end and returns its final record. The error says
// the final record was not written yet when Wait gave up waiting; how the
// run went is its status. When another instance took the run over, the
// record is the one it wrote.
func (h *Handle) Wait() (*domain.Run, error) {
	<-h.done
	return h.final, h.err
}

// Recover marks as aborted the runs a dead or frozen process left
// "running", this instance's previous process included (call it at start,
// before any run).
func (e *Engine) Recover(ctx context.Context) (int, error) {
	n, err := e.db.AbortStaleRuns(ctx, e.instance, e.staleAfter)
	if err != nil {
		return 0, fmt.Errorf("engine: recover: %w", err)
	}
	if n > 0 {
		e.log.Warn("marked runs left running by a stopped process as aborted", "runs", n)
	}
	return n, nil
}

// Status returns the run of job key in progress in this process, if any.
func (e *Engine) Status(key domain.JobKey) (domain.Run, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h, ok := e.running[key]
	if !ok {
		return domain.Run{}, false
	}
	return h.snap, true
}

// Start starts job key in the background and returns once the run's record
// and its "run started" audit event exist. It refuses with a domain
// ECONFLICT error while any run is in progress, here or on another instance,
// and after Shutdown; other errors say the database could not record the
// start. A run of this process that has ended but whose final record is
// still pending is no conflict: Start writes that record first. ctx bounds
// the start only: the run goes on until it ends or Shutdown cancels it.
func (e *Engine) Start(ctx context.Context, key domain.JobKey, opts RunOptions) (*Handle, error) {
	if _, err := domain.ParseJobKey(string(key)); err != nil {
		return nil, err
	}
	if opts.Trigger == "" {
		opts.Trigger = domain.TriggerManual
	}
	now := e.now()
	run := &domain.Run{
		ID: store.NewID(), JobKey: key, Trigger: opts.Trigger, TriggeredBy: opts.By, DryRun: opts.DryRun,
		Status: domain.RunRunning, StartedAt: now, HeartbeatAt: now, Instance: e.instance,
	}
	h, err := e.reserve(run)
	if err != nil {
		return nil, err
	}
	if err := e.writePendingEnds(ctx); err != nil {
		e.release(h, err)
		return nil, err
	}
	if err := e.record(ctx, run); err != nil {
		e.release(h, err)
		return nil, err
	}
	h.started = *run
	e.observer.RunStarted(*run)
	runCtx, stop := context.WithCancelCause(e.lifetime)
	h.cancel = func() { stop(context.Canceled) }
	go func() {
		defer stop(nil)
		e.execute(store.ForRun(runCtx, run.ID), stop, run, opts)
		e.endRun(h, run)
	}()
	return h, nil
}

// Run starts job key and waits for its end: Start, then Wait. Cancelling
// ctx aborts the run.
func (e *Engine) Run(ctx context.Context, key domain.JobKey, opts RunOptions) (*domain.Run, error) {
	h, err := e.Start(ctx, key, opts)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, h.cancel)
	defer stop()
	return h.Wait()
}

// RunScheduled runs job key for the scheduler and waits for its end; the
// error says the run did not start or did not succeed. When ctx ends first
// (the scheduler stops), it stops waiting and the run goes on until
// Shutdown.
func (e *Engine) RunScheduled(ctx context.Context, key domain.JobKey) error {
	h, err := e.Start(ctx, key, RunOptions{Trigger: domain.TriggerSchedule, By: ActorScheduler})
	if err != nil {
		return err
	}
	select {
	case <-h.Done():
	case <-ctx.Done():
		return fmt.Errorf("engine: stopped waiting for %s run %s: %w", key, h.started.ID, ctx.Err())
	}
	r, err := h.Wait()
	if err != nil {
		return err
	}
	if !r.Status.OK() {
		return fmt.Errorf("engine: %s run %s ended %s: %s", key, r.ID, r.Status.Label(), r.Message)
	}
	return nil
}

// Shutdown refuses new runs, lets the runs in progress finish for up to the
// grace period, then cancels them (each records itself as aborted, saying
// what it had changed) and waits for them to end and for their final
// records, until ctx ends. A final record still not written then is left to
// the next start's Recover.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	ended := make(chan struct{})
	go func() { e.runs.Wait(); close(ended) }()
	grace := time.NewTimer(e.grace)
	defer grace.Stop()
	select {
	case <-ended:
		return nil
	case <-grace.C:
	case <-ctx.Done():
	}
	if e.grace > 0 {
		e.log.Warn("a run is still going after the grace period: aborting it", "grace", e.grace)
	}
	e.cancelAll()
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
		e.giveUpOnce.Do(func() { close(e.giveUp) })
		return fmt.Errorf("engine: shutdown: a run did not stop or its end could not be recorded; the next start marks it aborted: %w", ctx.Err())
	}
}

// reserve claims this process's one run slot for run: runs never overlap,
// whatever their job.
func (e *Engine) reserve(run *domain.Run) (*Handle, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, domain.Errorf(domain.ECONFLICT, "the server is shutting down")
	}
	for _, other := range e.running {
		return nil, store.RunningConflict(&other.snap)
	}
	h := &Handle{done: make(chan struct{}), snap: *run}
	e.running[run.JobKey] = h
	e.runs.Add(1)
	return h, nil
}

// release gives back the slot reserve claimed for a run that did not start.
func (e *Engine) release(h *Handle, err error) {
	e.mu.Lock()
	delete(e.running, h.snap.JobKey)
	e.mu.Unlock()
	h.settle(nil, err)
	e.runs.Done()
}

// record creates run's record with its audit event, once no run of another
// instance is alive.
func (e *Engine) record(ctx context.Context, run *domain.Run) error {
	detail := "run " + run.ID + " started"
	if run.DryRun {
		detail += " (dry run)"
	}
	started := domain.AuditEvent{At: run.StartedAt, Actor: run.TriggeredBy, Action: domain.AuditJobRun, Target: string(run.JobKey), Detail: detail}
	return e.db.CreateRun(ctx, run, e.staleAfter, started)
}

// execute carries a recorded run to the end of its work; stop cancels it
// (with the cause, when another instance has taken it over).
func (e *Engine) execute(ctx context.Context, stop context.CancelCauseFunc, run *domain.Run, opts RunOptions) {
	log := e.log.With("job", run.JobKey, "run", run.ID, "dry_run", opts.DryRun)
	log.Info("run started", "trigger", opts.Trigger, "by", opts.By)

	stopBeat := e.heartbeat(ctx, stop, run.ID)
	r := &runner{e: e, run: run, opts: opts, log: log}
	func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("run panicked", "panic", p, "stack", string(debug.Stack()))
				r.finish(domain.RunFailed, fmt.Sprintf("Failed: internal error (%v). Every user changed so far was changed completely.", p))
			}
		}()
		r.execute(ctx)
	}()
	stopBeat()

	run.HeartbeatAt = e.now()
	if run.FinishedAt == nil {
		t := run.HeartbeatAt
		run.FinishedAt = &t
	}
}

// heartbeat keeps the run's heartbeat fresh (nothing else writes it: see
// store.Heartbeat), and stops the run when another instance has taken it
// over; the returned func stops the heartbeat.
func (e *Engine) heartbeat(ctx context.Context, stop context.CancelCauseFunc, id string) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		every(ctx, e.beatEvery, func() bool {
			err := e.db.Heartbeat(ctx, id)
			switch {
			case errors.Is(err, store.ErrRunTakenOver):
				e.log.Warn("another instance found this run's process dead or frozen and recorded its end: stopping the run, which writes nothing more", "run", id)
				stop(err)
				return false
			case err != nil && ctx.Err() == nil:
				e.log.Warn("run heartbeat failed", "run", id, "err", err)
			}
			return true
		})
	}()
	return func() { cancel(); <-done }
}

// Watch aborts, every heartbeat interval until ctx ends, the runs that
// other instances left running dead or frozen, so that a killed instance's
// run is recorded as aborted, and the jobs are free again, within moments
// rather than at the next start.
func (e *Engine) Watch(ctx context.Context) {
	every(ctx, e.beatEvery, func() bool {
		n, err := e.db.AbortStaleRuns(ctx, "", e.staleAfter)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("look for runs left behind by other instances", "err", err)
		case n > 0:
			e.log.Warn("marked runs whose instance stopped or froze as aborted", "runs", n)
		}
		return true
	})
}

// every calls fn every interval until ctx ends or fn returns false.
func every(ctx context.Context, interval time.Duration, fn func() bool) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !fn() {
			return
		}
	}
}

// publish stores a snapshot of run for Status.
func (e *Engine) publish(run *domain.Run) {
	e.mu.Lock()
	if h, ok := e.running[run.JobKey]; ok {
		h.snap = *run
	}
	e.mu.Unlock()
}
