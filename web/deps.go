package web

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/opcache"
	"idm/internal/store"
	"idm/web/api"
)

// Deps are what the handlers need; the composition root (internal/cli's
// serve) wires them. Each interface is the small part of an application
// package that the pages use, so that a handler test may pass a fake where
// a database adds nothing. New refuses a Deps without its services.
type Deps struct {
	Store Store
	Auth  Authenticator
	Box   SecretBox
	// Tokens are the API tokens: the Admin page makes and revokes them,
	// the API checks them.
	Tokens TokenService
	// Admin side (Batch Synchronization, LDAP connection).
	Scheduler Scheduler
	// Operator side (batch jobs, Run now, cache).
	Engine JobEngine
	Cache  OperatorCache
	// Webhooks sends Send test's notices (notify.Worker).
	Webhooks WebhookSender
	// Notify tells the other instances of a cluster that a topic changed
	// (cluster.TopicJobs, TopicSettings, TopicCache). Optional: a single
	// instance has nobody to tell, and New fills a notifier that does
	// nothing.
	Notify Notifier

	// Location is the zone of displayed times (time.Local when nil); Now the
	// clock (the wall clock in UTC when nil); Logger slog.Default when nil.
	Location      *time.Location
	Now           func() time.Time
	Logger        *slog.Logger
	Demo          bool
	SecureCookies bool
}

// check fills the defaults of the optional fields and refuses a Deps
// without a service.
func (d *Deps) check() error {
	var missing []error
	for _, f := range []struct {
		name   string
		absent bool
	}{
		{"Store", d.Store == nil}, {"Auth", d.Auth == nil}, {"Box", d.Box == nil}, {"Tokens", d.Tokens == nil},
		{"Scheduler", d.Scheduler == nil}, {"Engine", d.Engine == nil}, {"Cache", d.Cache == nil},
		{"Webhooks", d.Webhooks == nil},
	} {
		if f.absent {
			missing = append(missing, errors.New("web: Deps."+f.name+" is required"))
		}
	}
	if len(missing) > 0 {
		return errors.Join(missing...)
	}
	if d.Notify == nil {
		d.Notify = singleInstance{}
	}
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	if d.Location == nil {
		d.Location = time.Local
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return nil
}

// Store is every part of the store the pages use, one interface per area.
// *store.DB is one.
type Store interface {
	SessionStore
	BatchSyncStore
	LDAPStore
	AccountStore
	AuditStore
	RunStore
	UserStore
	NotificationStore
	// api.Store is what the JSON API reads.
	api.Store
}

// SessionStore is what the frame and the health checks need: the one-time
// message of a session, and whether the database answers.
type SessionStore interface {
	SetFlash(ctx context.Context, tokenHash, msg string) error
	Ping(ctx context.Context) error
}

// BatchSyncStore is what the Batch Synchronization pages read and save.
type BatchSyncStore interface {
	ListJobs(ctx context.Context) ([]domain.Job, error)
	GetJob(ctx context.Context, key domain.JobKey) (*domain.Job, error)
	SaveJobSchedule(ctx context.Context, key domain.JobKey, expr string, enabled bool, expectedVersion int, by string) (*domain.Job, error)
	LastRun(ctx context.Context, key domain.JobKey) (*domain.Run, error)
	LastSuccessfulRun(ctx context.Context, key domain.JobKey) (*domain.Run, error)
}

// LDAPStore is what the LDAP connection pages read and save.
type LDAPStore interface {
	LDAPSettings(ctx context.Context) (domain.LDAPSettings, error)
	SaveLDAPSettings(ctx context.Context, s domain.LDAPSettings, actor string) (domain.LDAPSettings, error)
	SetThresholdOverride(ctx context.Context, allow bool, actor string) error
}

// AccountStore is what the Accounts pages read and change.
type AccountStore interface {
	ListAccounts(ctx context.Context) ([]domain.Account, error)
	AccountByName(ctx context.Context, name string) (*domain.Account, error)
	CreateAccount(ctx context.Context, name string, role domain.AccountRole, passwordHash, actor string) (*domain.Account, error)
	SetAccountPassword(ctx context.Context, name, passwordHash, actor string) error
	SetAccountDisabled(ctx context.Context, name string, disabled bool, actor string) error
	SetAccountRole(ctx context.Context, name string, role domain.AccountRole, actor string) error
}

// AuditStore is what the Audit page reads.
type AuditStore interface {
	FindAudit(ctx context.Context, f store.AuditFilter, offset, limit int) ([]domain.AuditEvent, int64, error)
	AuditActors(ctx context.Context) ([]string, error)
	ListJobs(ctx context.Context) ([]domain.Job, error)
}

// RunStore is what the Operator's job and run pages read.
type RunStore interface {
	RunsSummary(ctx context.Context, keys []domain.JobKey, freshAfter time.Time) (*store.RunsSummary, error)
	ListRuns(ctx context.Context, key domain.JobKey, offset, limit int) ([]domain.Run, int, error)
	GetRun(ctx context.Context, id string) (*domain.Run, error)
	FindRunItems(ctx context.Context, runID string, f store.RunItemFilter, offset, limit int) ([]domain.RunItem, int, error)
	RunCredentialChanges(ctx context.Context, runID string) ([]store.CredentialTypeChanges, error)
}

// UserStore is what the Operator's user pages read.
type UserStore interface {
	SearchUsers(ctx context.Context, q store.UserQuery) ([]domain.User, int, error)
	UserByID(ctx context.Context, id string) (*store.UserDetail, error)
	RunItemsByUser(ctx context.Context, userID string, offset, limit int) ([]store.UserRunItem, int, error)
}

// NotificationStore is what the Notifications pages read and change.
type NotificationStore interface {
	ListWebhooks(ctx context.Context) ([]domain.Webhook, error)
	GetWebhook(ctx context.Context, id string) (*domain.Webhook, error)
	CreateWebhook(ctx context.Context, w *domain.Webhook, actor string) error
	SaveWebhook(ctx context.Context, w *domain.Webhook, actor string) error
	DeleteWebhook(ctx context.Context, id, actor string) error
	ListDeliveries(ctx context.Context, webhookID string, limit int) ([]domain.Delivery, error)
	PendingNotices(ctx context.Context) (map[string]int, error)
}

// WebhookSender posts a test notice to a webhook at once and logs it
// (notify.Worker).
type WebhookSender interface {
	SendTest(ctx context.Context, id, by string) (*domain.Delivery, error)
}

// SecretBox seals the bind password before it is stored and opens the
// stored one for a connection test (secret.Box).
type SecretBox interface {
	Seal(plain string) (string, error)
	Open(sealed string) (string, error)
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
	// Start starts job key and returns once its record exists; it refuses
	// (domain ECONFLICT) while any job runs.
	Start(ctx context.Context, key domain.JobKey, opts engine.RunOptions) (*engine.Handle, error)
	// Status is the live snapshot of job key's run in this process.
	Status(key domain.JobKey) (domain.Run, bool)
}

// OperatorCache is the Operator side's cache of job definitions and settings.
type OperatorCache interface {
	// Snapshot is what the cache holds, loaded at first use.
	Snapshot(ctx context.Context) (*opcache.Snapshot, error)
	// Clear reloads the cache from the database and audits it for actor.
	Clear(ctx context.Context, actor string) (*opcache.Snapshot, error)
	// Status tells the Operator frame when the cache was loaded and whether
	// an administrator saved a change since.
	Status(ctx context.Context) (loadedAt time.Time, stale bool)
	// Changed says a job definition or the LDAP settings were just saved,
	// so that Status asks the database again at once.
	Changed()
}

// Notifier announces a change to the other instances of a cluster
// (cluster.Bus).
type Notifier interface {
	Notify(ctx context.Context, topic string)
}

// singleInstance is the Notifier of a server alone on its database.
type singleInstance struct{}

func (singleInstance) Notify(context.Context, string) {}

// TokenService makes, lists, revokes and checks API tokens (auth.Tokens).
type TokenService interface {
	Create(ctx context.Context, account, name, expires, actor string) (string, *domain.APIToken, error)
	List(ctx context.Context) ([]store.TokenDetail, error)
	Revoke(ctx context.Context, id, actor string) (*store.TokenDetail, error)
	Authenticate(ctx context.Context, token string) (*domain.APIToken, *domain.Account, error)
}

// Authenticator signs accounts in and checks sessions.
type Authenticator interface {
	Login(ctx context.Context, name, password, addr string) (string, *domain.Account, error)
	Authenticate(ctx context.Context, token string) (*domain.Session, *domain.Account, error)
	Logout(ctx context.Context, token string) error
}
