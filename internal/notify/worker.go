package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
)

// Store is what the worker needs of the store (*store.DB is one).
type Store interface {
	ClaimNotices(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]domain.Notice, error)
	RecordDelivery(ctx context.Context, d *domain.Delivery, retryAt *time.Time) error
	PruneDeliveries(ctx context.Context, webhookID string, keep int, before time.Time) (int64, error)
	GetWebhook(ctx context.Context, id string) (*domain.Webhook, error)
	GetRun(ctx context.Context, id string) (*domain.Run, error)
	GetJob(ctx context.Context, key domain.JobKey) (*domain.Job, error)
	AddAudit(ctx context.Context, e domain.AuditEvent) error
}

// DefaultBackoff is how long a failed notice waits before each next
// attempt: eight attempts over about ten hours, then it is given up.
var DefaultBackoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour}

// The delivery log keeps, per webhook, its newest DefaultKeepDeliveries
// attempts and none older than DefaultKeepDeliveriesFor: enough to see
// what a receiver answered lately, never a table that grows for good.
const (
	DefaultKeepDeliveries    = 200
	DefaultKeepDeliveriesFor = 30 * 24 * time.Hour
)

// Options configure the worker; the zero durations take the defaults.
type Options struct {
	Store Store
	// OpenSecret opens a sealed signing secret (secret.Box.Open).
	OpenSecret func(sealed string) (string, error)
	// PublicURL is the server's base URL, for the link to a run's page.
	PublicURL string
	// Instance names this server on test notices.
	Instance string
	Now      func() time.Time
	Logger   *slog.Logger
	// Timeout bounds each attempt, from connecting to the answer
	// (default 10s): a receiver that hangs is timed out.
	Timeout time.Duration
	// Backoff[i] is the wait after failed attempt i+1; the notice is given
	// up after len(Backoff)+1 attempts (default DefaultBackoff).
	Backoff []time.Duration
	// PollEvery is how often the outbox is checked for due notices
	// (default 5s); a run that ends on this instance wakes it at once.
	PollEvery time.Duration
	// Concurrency is how many notices are posted at once (default 4).
	Concurrency int
	// KeepDeliveries and KeepDeliveriesFor bound each webhook's delivery
	// log, pruned after each attempt is recorded (default
	// DefaultKeepDeliveries, DefaultKeepDeliveriesFor).
	KeepDeliveries    int
	KeepDeliveriesFor time.Duration
}

// Worker delivers the outbox's notices. It is the engine's Observer (a run
// that ends here wakes it) and sends Send test's notices.
type Worker struct {
	o      Options
	client *http.Client
	wake   chan struct{}
}

// New builds a worker; Run starts it.
func New(o Options) (*Worker, error) {
	if o.Store == nil || o.OpenSecret == nil || o.PublicURL == "" {
		return nil, errors.New("notify: Options need Store, OpenSecret and PublicURL")
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.PollEvery <= 0 {
		o.PollEvery = 5 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.KeepDeliveries <= 0 {
		o.KeepDeliveries = DefaultKeepDeliveries
	}
	if o.KeepDeliveriesFor <= 0 {
		o.KeepDeliveriesFor = DefaultKeepDeliveriesFor
	}
	return &Worker{o: o, client: newClient(), wake: make(chan struct{}, 1)}, nil
}

// lease is how long a claimed notice stays claimed: past it, a worker that
// died mid-attempt has left the notice to the others.
func (w *Worker) lease() time.Duration { return w.o.Timeout + 30*time.Second }

// maxAttempts is the attempts a notice gets.
func (w *Worker) maxAttempts() int { return len(w.o.Backoff) + 1 }

// RunStarted does nothing: only an end is announced.
func (w *Worker) RunStarted(domain.Run) {}

// RunFinished wakes the worker: the run's notices are in the outbox.
func (w *Worker) RunFinished(domain.Run) { w.Wake() }

// Wake makes the worker look at the outbox now; it never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers due notices until ctx ends; an attempt in flight is then
// cut short and its notice is due again at once.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.o.PollEvery)
	defer t.Stop()
	for {
		w.drain(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.wake:
		}
	}
}

// drain claims and posts due notices, a few at a time, until none is due.
func (w *Worker) drain(ctx context.Context) {
	for ctx.Err() == nil {
		notices, err := w.o.Store.ClaimNotices(ctx, w.o.Now(), w.lease(), w.o.Concurrency)
		if err != nil {
			if ctx.Err() == nil {
				w.o.Logger.Warn("notify: could not claim notices", "err", err)
			}
			return
		}
		if len(notices) == 0 {
			return
		}
		var wg sync.WaitGroup
		for _, n := range notices {
			wg.Go(func() { w.deliver(ctx, n) })
		}
		wg.Wait()
	}
}

// deliver makes one attempt at notice n and records how it went.
func (w *Worker) deliver(ctx context.Context, n domain.Notice) {
	log := w.o.Logger.With("notice", n.ID, "webhook", n.WebhookID, "run", n.RunID, "event", n.Event, "attempt", n.Attempts)
	hook, body, err := w.noticeBody(ctx, n)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		log.Info("notify: the webhook or run is gone; the notice is dropped", "err", err)
		return
	}
	if err != nil {
		// Left claimed: it is due again after the lease.
		log.Warn("notify: could not prepare the notice", "err", err)
		return
	}
	at := w.o.Now()
	a := w.send(ctx, hook, n.Event, n.ID, body, at)
	d := &domain.Delivery{
		NoticeID: n.ID, WebhookID: n.WebhookID, RunID: n.RunID, Event: n.Event, Attempt: n.Attempts,
		At: at, StatusCode: a.status, DurationMS: int(a.took.Milliseconds()), Outcome: domain.DeliveryDelivered,
	}
	var retryAt *time.Time
	switch {
	case a.err == nil:
	case ctx.Err() != nil:
		d.Outcome, d.Error, retryAt = domain.DeliveryRetrying, "interrupted: the server was stopping; it is sent again at the next start", &at
	case n.Attempts >= w.maxAttempts():
		d.Outcome, d.Error = domain.DeliveryGaveUp, a.err.Error()+fmt.Sprintf("; given up after %d attempts", n.Attempts)
	default:
		next := at.Add(w.o.Backoff[n.Attempts-1])
		d.Outcome, d.Error, retryAt = domain.DeliveryRetrying, a.err.Error(), &next
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.o.Store.RecordDelivery(rctx, d, retryAt); err != nil {
		log.Error("notify: could not record the delivery", "err", err)
	} else {
		w.prune(rctx, log, d)
	}
	logDelivery(log, hook, d)
}

// prune trims the delivery log of d's webhook, d just recorded. A failure
// is only logged: the log is pruned again after the next attempt.
func (w *Worker) prune(ctx context.Context, log *slog.Logger, d *domain.Delivery) {
	if _, err := w.o.Store.PruneDeliveries(ctx, d.WebhookID, w.o.KeepDeliveries, d.At.Add(-w.o.KeepDeliveriesFor)); err != nil {
		log.Warn("notify: could not prune the delivery log", "err", err)
	}
}

// noticeBody loads n's webhook and run and encodes its body.
func (w *Worker) noticeBody(ctx context.Context, n domain.Notice) (*domain.Webhook, []byte, error) {
	hook, err := w.o.Store.GetWebhook(ctx, n.WebhookID)
	if err != nil {
		return nil, nil, err
	}
	run, err := w.o.Store.GetRun(ctx, n.RunID)
	if err != nil {
		return nil, nil, err
	}
	job, err := w.o.Store.GetJob(ctx, run.JobKey)
	if err != nil {
		return nil, nil, err
	}
	return hook, encode(runPayload(n.ID, n.Event, run, job, w.o.PublicURL)), nil
}

// send opens hook's secret and posts body.
func (w *Worker) send(ctx context.Context, hook *domain.Webhook, event, noticeID string, body []byte, at time.Time) attempt {
	secret, err := w.o.OpenSecret(hook.SecretEnc)
	if err != nil {
		// Never the error's details: they might say something of the key.
		return attempt{err: errors.New("the signing secret cannot be decrypted (was the server's secret key changed?); save a new secret")}
	}
	return post(ctx, w.client, hook.URL, secret, event, noticeID, body, at, w.o.Timeout)
}

// SendTest posts a test notice to webhook id at once, for by (Send test),
// records it in the delivery log and the audit log, and returns it. Its
// error says the webhook does not exist or the logs could not be written;
// how the post went is the delivery's outcome.
func (w *Worker) SendTest(ctx context.Context, id, by string) (*domain.Delivery, error) {
	hook, err := w.o.Store.GetWebhook(ctx, id)
	if err != nil {
		return nil, err
	}
	noticeID, at := store.NewID(), w.o.Now()
	body := encode(testPayload(noticeID, id, by, w.o.Instance, w.o.PublicURL, at))
	a := w.send(ctx, hook, domain.EventTest, noticeID, body, at)
	d := &domain.Delivery{
		NoticeID: noticeID, WebhookID: id, Event: domain.EventTest, Attempt: 1, At: at,
		StatusCode: a.status, DurationMS: int(a.took.Milliseconds()), Outcome: domain.DeliveryTestOK,
	}
	if a.err != nil {
		d.Outcome, d.Error = domain.DeliveryTestFail, a.err.Error()
	}
	if err := w.o.Store.RecordDelivery(ctx, d, nil); err != nil {
		return nil, err
	}
	log := w.o.Logger.With("webhook", id, "event", domain.EventTest, "by", by)
	w.prune(ctx, log, d)
	detail := "test notice " + d.Outcome
	if d.StatusCode != 0 {
		detail += fmt.Sprintf(" (HTTP %d)", d.StatusCode)
	}
	if err := w.o.Store.AddAudit(ctx, domain.AuditEvent{Actor: by, Action: domain.AuditWebhookTest, Target: id, Detail: detail}); err != nil {
		return nil, err
	}
	logDelivery(log, hook, d)
	return d, nil
}

// logDelivery logs an attempt: its host only (the URL's path and query
// may hold a token), never the secret or the body.
func logDelivery(log *slog.Logger, hook *domain.Webhook, d *domain.Delivery) {
	host := ""
	if u, err := url.Parse(hook.URL); err == nil {
		host = u.Host
	}
	attrs := []any{"name", hook.Name, "host", host, "outcome", d.Outcome, "status", d.StatusCode, "duration_ms", d.DurationMS}
	if d.OK() {
		log.Info("notify: notice delivered", attrs...)
		return
	}
	log.Warn("notify: notice not delivered", append(attrs, "err", d.Error)...)
}
