package web

import (
	"context"
	"log/slog"
	"time"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/opcache"
	"idm/internal/secret"
	"idm/internal/store"
)

// Deps are what the handlers need; cmd wires them. Each interface is the
// small part of an application package that the pages use.
type Deps struct {
	Store         *store.DB
	Auth          Authenticator
	Box           *secret.Box
	Location      *time.Location
	Now           func() time.Time
	Logger        *slog.Logger
	Demo          bool
	SecureCookies bool
	// CacheStatus tells the Operator frame when its cache was loaded and
	// whether an administrator saved a change since; nil until wired.
	CacheStatus func(ctx context.Context) (loadedAt time.Time, stale bool)

	// Admin side (Batch Synchronization, LDAP connection).
	Scheduler Scheduler
	// Operator side (batch jobs, Run now, cache).
	Engine JobEngine
	Cache  OperatorCache
	// Notify tells the other instances of a cluster that topic changed
	// ("jobs", "settings", "cache"); nil on a single instance.
	Notify func(ctx context.Context, topic string)
	// RunContext is the lifetime of runs started with Run now: the server
	// cancels it at shutdown, after the grace period, so that a run is
	// recorded as aborted rather than left running. Nil: runs are detached.
	RunContext context.Context
}

// Scheduler is the part of the scheduler the Admin pages use: a save
// reschedules its job at once, and the pages show gocron's next run.
type Scheduler interface {
	// Reschedule re-reads the job's definition and applies it in the
	// running scheduler (adds, updates or removes the job).
	Reschedule(ctx context.Context, key domain.JobKey) error
	// NextRun is when the job fires next; false when it is not scheduled.
	NextRun(key domain.JobKey) (time.Time, bool)
}

// JobEngine is the part of the sync engine the Operator pages use.
type JobEngine interface {
	// Run runs job key to its end; it refuses (domain ECONFLICT) while any
	// job runs. opts.Started is called once the run record exists.
	Run(ctx context.Context, key domain.JobKey, opts engine.RunOptions) (*domain.Run, error)
	// Status is the live snapshot of job key's run in this process.
	Status(key domain.JobKey) (domain.Run, bool)
}

// OperatorCache is the Operator side's cache of job definitions and settings.
type OperatorCache interface {
	// Snapshot is what the cache holds, loaded at first use.
	Snapshot(ctx context.Context) (*opcache.Snapshot, error)
	// Clear reloads the cache from the database and audits it for actor.
	Clear(ctx context.Context, actor string) (*opcache.Snapshot, error)
}

// Authenticator signs accounts in and checks sessions.
type Authenticator interface {
	Login(ctx context.Context, name, password, addr string) (string, *domain.Account, error)
	Authenticate(ctx context.Context, token string) (*domain.Session, *domain.Account, error)
	Logout(ctx context.Context, token string) error
}
