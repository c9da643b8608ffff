// Package scheduler runs the batch jobs when their cron expressions say,
// through gocron v2: one gocron job per definition, never two runs of one job
// at once, rescheduled in place when an administrator saves, and a slot that
// fires once across every instance sharing the database.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"

	"idm/internal/cronexpr"
	"idm/internal/domain"
)

// Runner runs a batch job for its schedule (the engine, through its Start).
// It records the run with trigger "schedule", and returns a domain ECONFLICT
// error when the job (or the job it must not overlap) is already running;
// the scheduler then skips the slot. It waits for the run's end, so that
// gocron does not fire the job again meanwhile, or until ctx ends: the
// scheduler cancels ctx when it stops, and the run's own end (its grace
// period at shutdown) is then the engine's business.
type Runner interface {
	RunScheduled(ctx context.Context, key domain.JobKey) error
}

// JobStore is what the scheduler needs from the store.
type JobStore interface {
	ListJobs(ctx context.Context) ([]domain.Job, error)
	GetJob(ctx context.Context, key domain.JobKey) (*domain.Job, error)
	SetJobScheduleState(ctx context.Context, key domain.JobKey, nextRun *time.Time, scheduleErr string) error
	ClaimJobSlot(ctx context.Context, key domain.JobKey, slot time.Time) (bool, error)
}

// Options tune a Scheduler. The zero value works: UTC, slog.Default, no
// distributed locker, the wall clock.
type Options struct {
	// Location is the time zone of expressions without a CRON_TZ= prefix.
	Location *time.Location
	Logger   *slog.Logger
	// Locker, when set, makes a run take a cluster-wide lock (NewPGLocker).
	Locker gocron.Locker
	// Now is the clock used to tell which scheduled slot a run belongs to
	// and when expressions are checked. It must agree with the wall clock
	// gocron fires on; tests move it to play an instance with a skewed clock.
	Now func() time.Time
}

// gocronStopTimeout is how long gocron's own shutdown waits for tasks.
const gocronStopTimeout = 50 * time.Millisecond

// Scheduler schedules the batch jobs stored in a JobStore.
type Scheduler struct {
	store  JobStore
	runner Runner
	opts   Options
	log    *slog.Logger
	cron   gocron.Scheduler

	// taskCtx is the context of our gocron tasks. It is ours, not gocron's:
	// gocron cancels a job's context when the job is updated or removed,
	// while a save must leave a running job alone. Stop cancels it.
	taskCtx     context.Context
	cancelTasks context.CancelFunc

	applyMu sync.Mutex // serialises Start and Reschedule

	mu        sync.Mutex // guards the fields below
	schedules map[domain.JobKey]*cronexpr.Schedule
	running   map[domain.JobKey]bool
	started   bool
	stopped   bool
	tasks     sync.WaitGroup // fire calls in flight; Add only under mu while !stopped
}

// New makes a scheduler; Start loads and schedules the jobs.
func New(store JobStore, runner Runner, opts Options) (*Scheduler, error) {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger.With("component", "scheduler")
	cronOpts := []gocron.SchedulerOption{
		gocron.WithLocation(opts.Location),
		gocron.WithLogger(log), // *slog.Logger has gocron.Logger's methods
		// Stop joins our tasks itself, on its own WaitGroup: gocron's wait
		// for running jobs is a busy loop that keeps a CPU at 100% for the
		// whole timeout.
		gocron.WithStopTimeout(gocronStopTimeout),
	}
	if opts.Locker != nil {
		cronOpts = append(cronOpts, gocron.WithDistributedLocker(opts.Locker))
	}
	c, err := gocron.NewScheduler(cronOpts...)
	if err != nil {
		return nil, fmt.Errorf("scheduler: new: %w", err)
	}
	taskCtx, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		store: store, runner: runner, opts: opts, log: log, cron: c,
		taskCtx: taskCtx, cancelTasks: cancel,
		schedules: map[domain.JobKey]*cronexpr.Schedule{},
		running:   map[domain.JobKey]bool{},
	}, nil
}

// jobID is the gocron identifier of a job: derived from its key, so the same
// job keeps the same identifier across saves and instances.
func jobID(key domain.JobKey) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("idm/batch-job/"+string(key)))
}

// Start schedules every enabled job with a valid expression and starts
// firing. A job whose expression the scheduler refuses stays unscheduled,
// with the reason stored for its page; the others are not affected.
func (s *Scheduler) Start(ctx context.Context) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	jobs, err := s.store.ListJobs(ctx)
	if err != nil {
		return fmt.Errorf("scheduler: load jobs: %w", err)
	}
	for i := range jobs {
		if err := s.apply(ctx, &jobs[i], false); err != nil {
			return err
		}
	}
	s.cron.Start()
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	// gocron knows next runs only once started.
	for i := range jobs {
		if err := s.persistNextRun(ctx, jobs[i].Key); err != nil {
			return err
		}
	}
	return nil
}

// Reschedule re-reads one job's definition and adds, updates or removes it
// in the running scheduler at once. A run in progress is left to finish;
// the new schedule applies from the next slot.
func (s *Scheduler) Reschedule(ctx context.Context, key domain.JobKey) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	job, err := s.store.GetJob(ctx, key)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		s.unschedule(key)
		return nil
	} else if err != nil {
		return fmt.Errorf("scheduler: reschedule %s: %w", key, err)
	}
	return s.apply(ctx, job, true)
}

// apply brings gocron in line with one definition. The expression is
// checked before gocron is touched: gocron's Update removes the old job
// first, so an invalid definition would otherwise leave nothing scheduled
// without saying why.
func (s *Scheduler) apply(ctx context.Context, job *domain.Job, persist bool) error {
	key := job.Key
	if !job.Enabled {
		s.unschedule(key)
		s.log.Info("job not scheduled: disabled", "job", key)
		return s.setState(ctx, key, nil, "")
	}
	sched, err := domain.ParseCronExpression(job.CronExpression, s.opts.Location, s.opts.Now())
	if err != nil {
		s.unschedule(key)
		reason := domain.ErrorMessage(err)
		s.log.Warn("job not scheduled: invalid cron expression", "job", key, "expression", job.CronExpression, "reason", reason)
		return s.setState(ctx, key, nil, reason)
	}

	// Every option again on every update: gocron's Update drops the ones
	// not passed.
	options := []gocron.JobOption{
		gocron.WithIdentifier(jobID(key)),
		gocron.WithName(string(key)), // also the distributed lock's key
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	}
	if start := sched.Align(s.opts.Now()); !start.IsZero() {
		// "@every" counts from a multiple of its interval, so that every
		// instance has the same slots (see cronexpr.Schedule.Align).
		options = append(options, gocron.WithStartAt(gocron.WithStartDateTimePast(start)))
	}
	def := gocron.CronJob(sched.Expr(), true)
	task := gocron.NewTask(s.fire, key)

	s.mu.Lock()
	_, exists := s.schedules[key]
	s.schedules[key] = sched
	s.mu.Unlock()
	if exists {
		_, err = s.cron.Update(jobID(key), def, task, options...)
	} else {
		_, err = s.cron.NewJob(def, task, options...)
	}
	if err != nil {
		s.unschedule(key)
		s.log.Error("job not scheduled", "job", key, "expression", sched.Expr(), "err", err)
		if stateErr := s.setState(ctx, key, nil, "The scheduler could not take this expression; the details are in the server log."); stateErr != nil {
			return stateErr
		}
		return fmt.Errorf("scheduler: schedule %s: %w", key, err)
	}
	s.log.Info("job scheduled", "job", key, "expression", sched.Expr(), "schedule", sched.Description())
	if persist {
		return s.persistNextRun(ctx, key)
	}
	return nil
}

// unschedule removes a job from gocron, if it is there. A run in progress
// goes on: it holds our context, not gocron's.
func (s *Scheduler) unschedule(key domain.JobKey) {
	s.mu.Lock()
	_, exists := s.schedules[key]
	delete(s.schedules, key)
	s.mu.Unlock()
	if exists {
		if err := s.cron.RemoveJob(jobID(key)); err != nil && !errors.Is(err, gocron.ErrJobNotFound) {
			s.log.Error("remove job from scheduler", "job", key, "err", err)
		}
	}
}

// persistNextRun stores gocron's next run for a scheduled job (once started).
func (s *Scheduler) persistNextRun(ctx context.Context, key domain.JobKey) error {
	next, ok := s.NextRun(key)
	if !ok {
		return nil
	}
	return s.setState(ctx, key, &next, "")
}

func (s *Scheduler) setState(ctx context.Context, key domain.JobKey, next *time.Time, reason string) error {
	if err := s.store.SetJobScheduleState(ctx, key, next, reason); err != nil {
		return fmt.Errorf("scheduler: record schedule state of %s: %w", key, err)
	}
	return nil
}

// NextRun is when gocron will next fire the job; false when the job is not
// scheduled or the scheduler has not started.
func (s *Scheduler) NextRun(key domain.JobKey) (time.Time, bool) {
	s.mu.Lock()
	_, scheduled := s.schedules[key]
	started := s.started
	s.mu.Unlock()
	if !scheduled || !started {
		return time.Time{}, false
	}
	for _, j := range s.cron.Jobs() {
		if j.ID() != jobID(key) {
			continue
		}
		next, err := j.NextRun()
		if err != nil || next.IsZero() {
			return time.Time{}, false
		}
		return next, true
	}
	return time.Time{}, false
}

// fire is the gocron task of every job: claim the slot, then run.
func (s *Scheduler) fire(key domain.JobKey) {
	now := s.opts.Now()
	s.mu.Lock()
	sched := s.schedules[key]
	if sched == nil || s.stopped {
		s.mu.Unlock()
		return
	}
	if s.running[key] {
		// gocron's singleton mode already prevents this; this also covers
		// the moment a save replaces the gocron job during a run.
		s.mu.Unlock()
		s.log.Info("scheduled run skipped: the previous run is still going", "job", key)
		return
	}
	s.running[key] = true
	s.tasks.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, key)
		s.mu.Unlock()
		s.tasks.Done()
	}()

	slot := sched.Slot(now)
	log := s.log.With("job", key, "slot", slot.Format(time.RFC3339))
	if next := sched.Next(now); !next.IsZero() {
		if err := s.store.SetJobScheduleState(s.taskCtx, key, &next, ""); err != nil {
			log.Error("record next run", "err", err)
		}
	}
	won, err := s.store.ClaimJobSlot(s.taskCtx, key, slot)
	if err != nil {
		log.Error("scheduled run skipped: cannot claim its slot", "err", err)
		return
	}
	if !won {
		log.Info("scheduled run skipped: another instance has run this slot")
		return
	}
	log.Info("scheduled run starting")
	err = s.runner.RunScheduled(s.taskCtx, key)
	switch {
	case err == nil:
		log.Info("scheduled run finished")
	case domain.ErrorCode(err) == domain.ECONFLICT:
		log.Info("scheduled run skipped", "reason", domain.ErrorMessage(err))
	case errors.Is(err, context.Canceled):
		log.Info("scheduler stopped; the run is left to the engine's shutdown")
	default:
		log.Error("scheduled run failed", "err", err)
	}
}

// Stop stops firing, stops waiting for the runs it started (they go on
// until the engine's Shutdown gives them their grace period) and joins its
// tasks, until ctx ends.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancelTasks()

	// No new runs from here; gocron gives up waiting for running tasks after
	// gocronStopTimeout, and we join them below.
	shutdownErr := s.cron.ShutdownWithContext(ctx)
	if errors.Is(shutdownErr, gocron.ErrStopJobsTimedOut) {
		shutdownErr = nil // a task is still returning: joined below
	}
	done := make(chan struct{})
	go func() { s.tasks.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("scheduler: stop: tasks still going: %w", ctx.Err())
	}
	if shutdownErr != nil {
		return fmt.Errorf("scheduler: stop: %w", shutdownErr)
	}
	return nil
}
