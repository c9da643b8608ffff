// Package engine runs the two batch jobs: Synchronize active LDAP Users to
// Identity Manager and Synchronize inactive LDAP Users to Identity Manager,
// with the end states of DESIGN.md §2.
//
// A run streams the directory page by page. For each page it looks up the
// matching users in two queries (by stable id, then by username), loads the
// credentials, certificates and active roles of the matched users in three
// more (inactive job only), computes every user's change in memory, and
// writes the page in one transaction: multi-row inserts for new users and run
// items, one UPDATE per target state for credentials, certificates and role
// assignments. When that transaction fails, the page is retried user by user
// so that one bad entry becomes a per-user error and cannot sink the others.
// An unchanged user costs no write at all, so a second run with no directory
// change writes only its own run row.
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
//   - Inactive job: a read-only planning pass streams the whole result and
//     computes what the run would deactivate without writing anything. A
//     failed search, or more deactivations than the limit (unless an
//     administrator allowed the next run past it; the permission is used up
//     by that run), stops the run with nothing changed. The write pass then
//     streams the entries again and applies them.
//
// A search that fails during the write pass (after the checks) ends the run
// as failed, or as stopped by the safety check when nothing was written yet.
// What was committed stays committed, one whole user at a time: every user
// is either fully as before or fully changed, and the next run completes the
// rest. Cancelling the context aborts the run the same way.
//
// The active and the inactive job never run at the same time and a job never
// runs twice at once: the engine refuses a second start in this process, and
// the store refuses it when another instance's run is alive (its heartbeat is
// fresh).
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

	AbortStaleRuns(ctx context.Context, instance string, staleBefore time.Time) (int, error)
	CreateRun(ctx context.Context, r *domain.Run, freshAfter time.Time, events ...domain.AuditEvent) error
	UpdateRunProgress(ctx context.Context, r *domain.Run) error
	Heartbeat(ctx context.Context, id string, t time.Time) error
	FinishRun(ctx context.Context, r *domain.Run) error
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
	// StaleAfter is how old a running run's heartbeat may be before the run
	// counts as left behind by a dead process (default 2 minutes).
	StaleAfter time.Duration
	// HeartbeatEvery is how often a run proves it is alive (default 20s).
	HeartbeatEvery time.Duration
	// ShutdownGrace is how long Shutdown lets runs finish before it cancels
	// them (default none: at once).
	ShutdownGrace time.Duration
	// Observer is told of every run's start and end (default: nobody).
	Observer Observer
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

	// lifetime is every run's context: Shutdown cancels it after the grace
	// period. A run never lives on the context of whoever started it (a
	// request ends with its answer).
	lifetime  context.Context
	cancelAll context.CancelFunc

	mu      sync.Mutex // guards the fields below
	running map[domain.JobKey]*Handle
	closed  bool
	runs    sync.WaitGroup // one per Handle; Add only under mu while !closed
}

// New builds an engine from its dependencies.
func New(d Deps) *Engine {
	e := &Engine{
		db: d.DB, dial: d.Dial, openSecret: d.OpenSecret, instance: d.Instance, now: d.Now, log: d.Logger,
		staleAfter: d.StaleAfter, beatEvery: d.HeartbeatEvery, grace: d.ShutdownGrace, observer: d.Observer,
		running: map[domain.JobKey]*Handle{},
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
		e.beatEvery = 20 * time.Second
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

	snap  domain.Run // the live copy, under the engine's mu
	final *domain.Run
	err   error
}

// Run is the run's record as Start created it.
func (h *Handle) Run() domain.Run { return h.started }

// Done is closed when the run has ended and its final record is written (or
// could not be).
func (h *Handle) Done() <-chan struct{} { return h.done }

// Wait waits for the run's end and returns its final record. The error says
// the final record could not be written; how the run went is its status.
func (h *Handle) Wait() (*domain.Run, error) {
	<-h.done
	return h.final, h.err
}

// Recover marks as aborted the runs a dead process left "running": this
// instance's (call it at start, before any run) and any whose heartbeat is
// stale.
func (e *Engine) Recover(ctx context.Context) (int, error) {
	n, err := e.db.AbortStaleRuns(ctx, e.instance, e.now().Add(-e.staleAfter))
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
// start. ctx bounds the start only: the run goes on until it ends or
// Shutdown cancels it.
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
	if err := e.record(ctx, run); err != nil {
		e.release(h, nil, err)
		return nil, err
	}
	h.started = *run
	e.observer.RunStarted(*run)
	runCtx, cancel := context.WithCancel(e.lifetime)
	h.cancel = cancel
	go func() {
		defer cancel()
		final, err := e.execute(runCtx, run, opts)
		e.release(h, final, err)
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
// what it had changed) and waits for them to end, until ctx ends.
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
		return fmt.Errorf("engine: shutdown: a run did not stop after it was cancelled; the next start marks it aborted: %w", ctx.Err())
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

// release ends h with its final record (nil when the run never started).
func (e *Engine) release(h *Handle, final *domain.Run, err error) {
	e.mu.Lock()
	delete(e.running, h.snap.JobKey)
	e.mu.Unlock()
	h.final, h.err = final, err
	close(h.done)
	e.runs.Done()
}

// record creates run's record with its audit event, once no run of another
// instance is alive.
func (e *Engine) record(ctx context.Context, run *domain.Run) error {
	// A run whose process died elsewhere in the cluster would otherwise
	// show as running until that instance restarts.
	freshAfter := run.StartedAt.Add(-e.staleAfter)
	if _, err := e.db.AbortStaleRuns(ctx, "", freshAfter); err != nil {
		return fmt.Errorf("engine: abort stale runs: %w", err)
	}
	detail := "run " + run.ID + " started"
	if run.DryRun {
		detail += " (dry run)"
	}
	started := domain.AuditEvent{At: run.StartedAt, Actor: run.TriggeredBy, Action: domain.AuditJobRun, Target: string(run.JobKey), Detail: detail}
	return e.db.CreateRun(ctx, run, freshAfter, started)
}

// execute carries a recorded run to its end and writes its final record.
func (e *Engine) execute(ctx context.Context, run *domain.Run, opts RunOptions) (*domain.Run, error) {
	log := e.log.With("job", run.JobKey, "run", run.ID, "dry_run", opts.DryRun)
	log.Info("run started", "trigger", opts.Trigger, "by", opts.By)

	stopBeat := e.heartbeat(ctx, run.ID)
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
	// The final record must land even when ctx was cancelled.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := e.db.FinishRun(fctx, run)
	e.observer.RunFinished(*run)
	if err != nil {
		log.Error("could not record the end of the run", "err", err)
		return run, fmt.Errorf("engine: record end of run %s: %w", run.ID, err)
	}
	log.Info("run ended", "status", run.Status, "message", run.Message, "counts", run.RunCounts)
	return run, nil
}

// heartbeat keeps the run's heartbeat fresh while a long step (a count, a
// slow page) gives no progress to record; the returned func stops it.
func (e *Engine) heartbeat(ctx context.Context, id string) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(e.beatEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := e.db.Heartbeat(ctx, id, e.now()); err != nil && ctx.Err() == nil {
					e.log.Warn("run heartbeat failed", "run", id, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// publish stores a snapshot of run for Status.
func (e *Engine) publish(run *domain.Run) {
	e.mu.Lock()
	if h, ok := e.running[run.JobKey]; ok {
		h.snap = *run
	}
	e.mu.Unlock()
}
