// Package opcache is the Operator side's cache of the batch job definitions
// and the LDAP settings, as Identity Manager Operator keeps them: loaded at
// first use and kept until someone clicks Clear cache. An administrator's
// save therefore does not show on Operator until then; Stale tells the pages
// that such a save happened, so they can say so.
package opcache

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"idm/internal/cronexpr"
	"idm/internal/domain"
	"idm/internal/store"
)

// Job is a batch job definition as the cache holds it.
type Job struct {
	Key          domain.JobKey
	SymbolicName string
	ProcessName  string
	Description  string
	Expression   string
	Enabled      bool
	Version      int
	UpdatedAt    time.Time
	UpdatedBy    string
	// Schedule is the parsed expression; nil when it is empty or invalid,
	// and then ScheduleError says why.
	Schedule      *cronexpr.Schedule
	ScheduleError string
}

// NextRun is the job's next execution after now according to the cached
// expression; zero when the job is disabled or its expression does not
// parse. It is computed from the cached expression (not asked from the
// live scheduler), so that it moves only when the cache is cleared.
func (j *Job) NextRun(now time.Time) time.Time {
	if !j.Enabled || j.Schedule == nil {
		return time.Time{}
	}
	if a := j.Schedule.Align(now); !a.IsZero() {
		return j.Schedule.Next(a)
	}
	return j.Schedule.Next(now)
}

// Settings summarises the LDAP settings for Operator, without any secret.
type Settings struct {
	Configured     bool
	URL            string
	StartTLS       bool
	BaseDN         string
	ActiveFilter   string
	InactiveFilter string
	PageSize       int
	Preset         string
	Version        int
	UpdatedAt      time.Time
	UpdatedBy      string
}

// Snapshot is one load of the cache. It is never changed after the load:
// readers may keep it.
type Snapshot struct {
	Jobs     []Job
	Settings Settings
	LoadedAt time.Time
	// versions is what Stale compares against: the versions as loaded.
	versions store.Versions
}

// Job returns the cached definition of job key.
func (s *Snapshot) Job(key domain.JobKey) (*Job, error) {
	for i := range s.Jobs {
		if s.Jobs[i].Key == key {
			return &s.Jobs[i], nil
		}
	}
	return nil, domain.NoSuchJob(string(key))
}

// Store is what the cache reads of the store and the audit event it writes.
type Store interface {
	ListJobs(ctx context.Context) ([]domain.Job, error)
	LDAPSettings(ctx context.Context) (domain.LDAPSettings, error)
	ConfigVersions(ctx context.Context) (store.Versions, error)
	AddAudit(ctx context.Context, e domain.AuditEvent) error
}

// Cache holds the Operator's snapshot. It is safe for concurrent use.
type Cache struct {
	db  Store
	loc *time.Location
	now func() time.Time

	loadMu sync.Mutex // serialises loads, so a burst of first requests loads once
	mu     sync.Mutex // guards snap and checked
	snap   *Snapshot
	// checked is Stale's last answer, for the snapshot it was about.
	checked staleCheck
}

// staleCheckEvery bounds how often Stale asks the database: every open
// Batch jobs page polls it each second. A save made through this process
// (internal/admin) or announced by another instance calls Changed, so its
// notice shows at once; a save the cache hears of by neither way (idm ldap
// configure on SQLite, which has no announcements) shows within this bound.
const staleCheckEvery = time.Second

// staleCheck is one answer of Stale: whether snap was stale at at.
type staleCheck struct {
	snap  *Snapshot
	at    time.Time
	stale bool
}

// New builds a cache over db; loc is the zone of expressions without their
// own CRON_TZ= (nil means UTC), now the clock (nil means the wall clock in
// UTC).
func New(db Store, loc *time.Location, now func() time.Time) *Cache {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Cache{db: db, loc: loc, now: now}
}

// Snapshot returns the cached definitions, loading them at first use.
func (c *Cache) Snapshot(ctx context.Context) (*Snapshot, error) {
	if s := c.current(); s != nil {
		return s, nil
	}
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	if s := c.current(); s != nil {
		return s, nil
	}
	return c.reloadLocked(ctx)
}

// LoadedAt is when the cache was loaded; zero before the first use.
func (c *Cache) LoadedAt() time.Time {
	if s := c.current(); s != nil {
		return s.LoadedAt
	}
	return time.Time{}
}

// Clear reloads the cache from the database and records an audit event for
// actor. It returns the new snapshot.
func (c *Cache) Clear(ctx context.Context, actor string) (*Snapshot, error) {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	s, err := c.reloadLocked(ctx)
	if err != nil {
		return nil, err
	}
	var detail []string
	for _, j := range s.Jobs {
		state := "enabled"
		if !j.Enabled {
			state = "disabled"
		}
		detail = append(detail, fmt.Sprintf("%s: %q %s (version %d)", j.Key, j.Expression, state, j.Version))
	}
	detail = append(detail, fmt.Sprintf("LDAP settings version %d", s.Settings.Version))
	err = c.db.AddAudit(ctx, domain.AuditEvent{
		At: s.LoadedAt, Actor: actor, Action: domain.AuditCacheClear, Target: "operator_cache",
		Detail: "job definitions and settings reloaded: " + strings.Join(detail, "; "),
	})
	if err != nil {
		return nil, fmt.Errorf("opcache: audit clear: %w", err)
	}
	return s, nil
}

// Reload reloads the cache without an audit event: for a Clear cache done
// on another instance of a cluster, which audited it there.
func (c *Cache) Reload(ctx context.Context) error {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	_, err := c.reloadLocked(ctx)
	return err
}

// Stale reports whether an administrator saved a job definition or the LDAP
// settings after the cache was loaded. It compares the versions the cache
// holds with the database's in one small query. Versions, not timestamps:
// they increase with every save whatever the clocks of the instances say. A
// cache not loaded yet is not stale; a failed check is logged by the caller
// as not stale, because the notice is a hint, not a guard.
//
// The answer is kept for staleCheckEvery, or until Changed; a stale answer
// is kept until the next load, since versions only grow.
func (c *Cache) Stale(ctx context.Context) (bool, error) {
	s := c.current()
	if s == nil {
		return false, nil
	}
	at := c.now()
	c.mu.Lock()
	last := c.checked
	c.mu.Unlock()
	if last.snap == s && (last.stale || at.Sub(last.at) < staleCheckEvery && !at.Before(last.at)) {
		return last.stale, nil
	}
	now, err := c.db.ConfigVersions(ctx)
	if err != nil {
		return false, fmt.Errorf("opcache: check for changes: %w", err)
	}
	stale := !sameVersions(s.versions, now)
	c.mu.Lock()
	if c.snap == s {
		c.checked = staleCheck{snap: s, at: at, stale: stale}
	}
	c.mu.Unlock()
	return stale, nil
}

// Changed tells the cache that a job definition or the LDAP settings were
// saved (here or on another instance): the next Stale asks the database.
func (c *Cache) Changed() {
	c.mu.Lock()
	c.checked = staleCheck{}
	c.mu.Unlock()
}

// sameVersions reports whether a and b hold the same jobs at the same
// versions, and the same settings version.
func sameVersions(a, b store.Versions) bool {
	if a.LDAPSettings != b.LDAPSettings || len(a.Jobs) != len(b.Jobs) {
		return false
	}
	for k, v := range a.Jobs {
		if w, ok := b.Jobs[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Status is for the Operator frame: when the cache was loaded (loading it at
// first use) and whether it is stale. Errors leave the frame without the
// notice; the page itself reports a failed load.
func (c *Cache) Status(ctx context.Context) (time.Time, bool) {
	s, err := c.Snapshot(ctx)
	if err != nil {
		return time.Time{}, false
	}
	stale, err := c.Stale(ctx)
	if err != nil {
		return s.LoadedAt, false
	}
	return s.LoadedAt, stale
}

func (c *Cache) current() *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap
}

// reloadLocked reads the definitions and settings; the caller holds loadMu.
func (c *Cache) reloadLocked(ctx context.Context) (*Snapshot, error) {
	now := c.now()
	jobs, err := c.db.ListJobs(ctx)
	if err != nil {
		return nil, fmt.Errorf("opcache: load: %w", err)
	}
	settings, err := c.db.LDAPSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("opcache: load: %w", err)
	}
	s := &Snapshot{LoadedAt: now, versions: store.Versions{Jobs: map[domain.JobKey]int{}, LDAPSettings: settings.Version}}
	for _, j := range jobs {
		cj := Job{
			Key: j.Key, SymbolicName: j.SymbolicName, ProcessName: j.ProcessName, Description: j.Description,
			Expression: j.CronExpression, Enabled: j.Enabled, Version: j.Version, UpdatedAt: j.UpdatedAt, UpdatedBy: j.UpdatedBy,
		}
		if strings.TrimSpace(j.CronExpression) == "" {
			cj.ScheduleError = "no expression"
		} else if sched, err := domain.ParseCronExpression(j.CronExpression, c.loc, now); err != nil {
			cj.ScheduleError = domain.ErrorMessage(err)
		} else {
			cj.Schedule = sched
		}
		s.Jobs = append(s.Jobs, cj)
		s.versions.Jobs[j.Key] = j.Version
	}
	s.Settings = Settings{
		Configured: settings.Configured(), URL: settings.URL, StartTLS: settings.StartTLS, BaseDN: settings.BaseDN,
		ActiveFilter: settings.ActiveFilter, InactiveFilter: settings.InactiveFilter, PageSize: settings.PageSize,
		Preset: settings.Preset, Version: settings.Version, UpdatedAt: settings.UpdatedAt, UpdatedBy: settings.UpdatedBy,
	}
	c.mu.Lock()
	c.snap = s
	c.mu.Unlock()
	return s, nil
}
