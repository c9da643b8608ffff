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

// Deps are what the engine needs.
type Deps struct {
	DB *store.DB
	// Dial connects to the directory; DialDirectory for the real one.
	Dial Dialer
	// OpenSecret decrypts the sealed bind password (secret.Box.Open).
	OpenSecret func(sealed string) (string, error)
	// Instance names this process on the runs it records.
	Instance string
	// Now is the clock; defaults to DB.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// StaleAfter is how old a running run's heartbeat may be before the run
	// counts as left behind by a dead process (default 2 minutes).
	StaleAfter time.Duration
	// HeartbeatEvery is how often a run proves it is alive (default 20s).
	HeartbeatEvery time.Duration
}

// RunOptions say who started a run and how.
type RunOptions struct {
	Trigger string // domain.TriggerSchedule, TriggerManual or TriggerCLI
	By      string // the account or component that started it
	DryRun  bool
	// Progress, when set, receives a copy of the run after each page.
	Progress func(domain.Run)
	// Started, when set, receives a copy of the run right after its record
	// was created, so that a caller running Run in a goroutine knows the run
	// began (and was not refused) without waiting for its end.
	Started func(domain.Run)
}

// Engine runs the batch jobs.
type Engine struct {
	db         *store.DB
	dial       Dialer
	openSecret func(string) (string, error)
	instance   string
	now        func() time.Time
	log        *slog.Logger
	staleAfter time.Duration
	beatEvery  time.Duration

	mu      sync.Mutex
	running map[domain.JobKey]*domain.Run // snapshots, replaced per page
}

// New builds an engine from its dependencies.
func New(d Deps) *Engine {
	e := &Engine{
		db: d.DB, dial: d.Dial, openSecret: d.OpenSecret, instance: d.Instance, now: d.Now, log: d.Logger,
		staleAfter: d.StaleAfter, beatEvery: d.HeartbeatEvery, running: map[domain.JobKey]*domain.Run{},
	}
	if e.now == nil {
		e.now = d.DB.Now
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.staleAfter <= 0 {
		e.staleAfter = 2 * time.Minute
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

// Running returns snapshots of the runs in progress in this process.
func (e *Engine) Running() map[domain.JobKey]domain.Run {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[domain.JobKey]domain.Run, len(e.running))
	for k, r := range e.running {
		out[k] = *r
	}
	return out
}

// Status returns the run of job key in progress in this process, if any.
func (e *Engine) Status(key domain.JobKey) (domain.Run, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.running[key]
	if !ok {
		return domain.Run{}, false
	}
	return *r, true
}

// RunScheduled runs job key for the scheduler; the error says the run did
// not succeed.
func (e *Engine) RunScheduled(ctx context.Context, key domain.JobKey) error {
	r, err := e.Run(ctx, key, RunOptions{Trigger: domain.TriggerSchedule, By: "scheduler"})
	if err != nil {
		return err
	}
	if !r.Status.OK() {
		return fmt.Errorf("engine: %s run %s ended %s: %s", key, r.ID, r.Status.Label(), r.Message)
	}
	return nil
}

// Run runs job key to its end and returns the finished run record. The
// error is for a run that could not start (another run in progress: an
// ECONFLICT error; the database unreachable); a run that started always
// ends with a record whose status says how it went.
func (e *Engine) Run(ctx context.Context, key domain.JobKey, opts RunOptions) (*domain.Run, error) {
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

	e.mu.Lock()
	for _, other := range e.running {
		e.mu.Unlock()
		by := other.TriggeredBy
		if by == "" {
			by = other.Trigger
		}
		return nil, domain.Errorf(domain.ECONFLICT, "the %s job is already running, started at %s by %s",
			other.JobKey, other.StartedAt.UTC().Format(time.RFC3339), by)
	}
	snap := *run
	e.running[key] = &snap
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.running, key)
		e.mu.Unlock()
	}()

	// A run whose process died elsewhere in the cluster would otherwise
	// show as running until that instance restarts.
	if _, err := e.db.AbortStaleRuns(ctx, "", now.Add(-e.staleAfter)); err != nil {
		return nil, fmt.Errorf("engine: abort stale runs: %w", err)
	}
	if err := e.db.CreateRun(ctx, run, now.Add(-e.staleAfter)); err != nil {
		return nil, err
	}
	if opts.Started != nil {
		opts.Started(*run)
	}
	log := e.log.With("job", key, "run", run.ID, "dry_run", opts.DryRun)
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
	if err := e.db.FinishRun(fctx, run); err != nil {
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

// publish stores a snapshot of run for Running and Status.
func (e *Engine) publish(run *domain.Run) {
	snap := *run
	e.mu.Lock()
	if _, ok := e.running[run.JobKey]; ok {
		e.running[run.JobKey] = &snap
	}
	e.mu.Unlock()
}
