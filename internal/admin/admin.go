// Package admin makes the Admin side's changes that more than one entry
// point offers: a job's schedule and the LDAP connection. The Admin forms
// and the JSON API call the same functions, so that a save is checked by the
// domain's rule, stored and audited, applied to the running scheduler and
// announced to the other instances the same way, whoever makes it.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"idm/internal/cluster"
	"idm/internal/domain"
)

// Store is what the changes read and save.
type Store interface {
	GetJob(ctx context.Context, key domain.JobKey) (*domain.Job, error)
	SaveJobSchedule(ctx context.Context, key domain.JobKey, expr string, enabled bool, expectedVersion int, by string) (*domain.Job, error)
	LDAPSettings(ctx context.Context) (domain.LDAPSettings, error)
	SaveLDAPSettings(ctx context.Context, s domain.LDAPSettings, actor string) (domain.LDAPSettings, error)
}

// Scheduler takes a saved job definition at once.
type Scheduler interface {
	Reschedule(ctx context.Context, key domain.JobKey) error
}

// Notifier announces a change to the other instances of a cluster.
type Notifier interface {
	Notify(ctx context.Context, topic string)
}

// Sealer encrypts the bind password before it is stored (secret.Box).
type Sealer interface {
	Seal(plain string) (string, error)
}

// Deps are what the changes need; every field is required.
type Deps struct {
	Store     Store
	Scheduler Scheduler
	Notify    Notifier
	Box       Sealer
	// Location is the zone of schedules and of the times in messages.
	Location *time.Location
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service makes the changes.
type Service struct{ d Deps }

// New builds the service.
func New(d Deps) *Service { return &Service{d: d} }

// Schedule is a job's schedule as an administrator submits it, with the
// version of the job it was made against.
type Schedule struct {
	Expression string
	Enabled    bool
	Version    int
}

// SavedSchedule is a saved job, and why the running scheduler could not
// take it yet when it could not (the job records that too).
type SavedSchedule struct {
	Job        *domain.Job
	NotApplied error
}

// StaleJobError refuses a save made against an older version of a job; its
// message says who saved since, and when. Current is the job as it is now.
type StaleJobError struct {
	Current *domain.Job
	err     error
}

func (e *StaleJobError) Error() string { return e.err.Error() }
func (e *StaleJobError) Unwrap() error { return e.err }

// SaveSchedule checks the expression (domain.ParseCronExpression: bad is
// FieldErrors at "expression"), saves it if the job is still at
// sc.Version (else a *StaleJobError), reschedules the job at once and tells
// the other instances.
func (s *Service) SaveSchedule(ctx context.Context, key domain.JobKey, sc Schedule, by string) (SavedSchedule, error) {
	sched, err := domain.ParseCronExpression(sc.Expression, s.d.Location, s.d.Now())
	if err != nil {
		return SavedSchedule{}, err
	}
	saved, err := s.d.Store.SaveJobSchedule(ctx, key, sched.Expr(), sc.Enabled, sc.Version, by)
	if domain.ErrorCode(err) == domain.ECONFLICT {
		cur, getErr := s.d.Store.GetJob(ctx, key)
		if getErr != nil {
			return SavedSchedule{}, errors.Join(err, getErr)
		}
		return SavedSchedule{}, &StaleJobError{Current: cur, err: domain.JobChanged(cur.UpdatedBy, cur.UpdatedAt.In(s.d.Location))}
	} else if err != nil {
		return SavedSchedule{}, err
	}
	s.d.Logger.Info("schedule saved", "job", saved.Key, "expression", saved.CronExpression, "enabled", saved.Enabled,
		"version", saved.Version, "by", by)
	out := SavedSchedule{Job: saved}
	if err := s.d.Scheduler.Reschedule(ctx, saved.Key); err != nil {
		// The definition is saved; the scheduler records why it could not
		// take it, and the job's page shows that.
		s.d.Logger.Error("reschedule after save", "job", saved.Key, "err", err)
		out.NotApplied = err
	}
	s.d.Notify.Notify(ctx, cluster.TopicJobs)
	return out, nil
}

// SaveLDAP replaces the LDAP connection cur (as loaded, with its version)
// by next, with what the submission says of the bind password: checked by
// domain.ValidateLDAPChange (a changed server or bind DN needs the password
// again), the new password sealed, saved if nobody saved since (else
// ECONFLICT), and announced to the other instances.
func (s *Service) SaveLDAP(ctx context.Context, cur, next domain.LDAPSettings, pw domain.BindPassword, by string) (domain.LDAPSettings, error) {
	if err := domain.ValidateLDAPChange(cur, next, pw); err != nil {
		return domain.LDAPSettings{}, err
	}
	switch {
	case pw.Clear:
		next.BindPasswordEnc = ""
	case pw.New != "":
		sealed, err := s.d.Box.Seal(pw.New)
		if err != nil {
			return domain.LDAPSettings{}, err
		}
		next.BindPasswordEnc = sealed
	default:
		next.BindPasswordEnc = cur.BindPasswordEnc
	}
	saved, err := s.d.Store.SaveLDAPSettings(ctx, next, by)
	if err != nil {
		return domain.LDAPSettings{}, err
	}
	s.d.Logger.Info("ldap connection saved", "settings", saved.String(), "version", saved.Version, "by", by)
	s.d.Notify.Notify(ctx, cluster.TopicSettings)
	return saved, nil
}
