package domain

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Notice events: what a webhook can be told about. A run's event follows
// from how it ended (NoticeEvent); EventTest is what Send test sends.
const (
	EventRunFailed           = "run_failed"
	EventSafetyStop          = "safety_stop"
	EventSucceededWithErrors = "succeeded_with_errors"
	EventSucceeded           = "succeeded"
	EventTest                = "test"
)

// NoticeEvents lists the events a webhook subscribes to, in the order the
// page shows them, with their labels.
var NoticeEvents = []struct{ Event, Label string }{
	{EventRunFailed, "Run failed (or aborted)"},
	{EventSafetyStop, "Stopped by a safety check"},
	{EventSucceededWithErrors, "Succeeded with errors"},
	{EventSucceeded, "Succeeded"},
}

// NoticeEvent is the event a finished run announces. A dry run and a run
// still going announce nothing: a dry run changes nothing, and the person
// who started it is watching it.
func NoticeEvent(r *Run) (string, bool) {
	if r.DryRun {
		return "", false
	}
	switch r.Status {
	case RunFailed, RunAborted:
		return EventRunFailed, true
	case RunSafetyStop:
		return EventSafetyStop, true
	case RunSucceededWithErrors:
		return EventSucceededWithErrors, true
	case RunSucceeded:
		return EventSucceeded, true
	}
	return "", false
}

// Webhook is a receiver of run notices. SecretEnc is the signing secret
// sealed with the server's secret key: it is never shown, logged or sent;
// it only keys the signature of each notice.
type Webhook struct {
	ID                    string    `gorm:"column:id;primaryKey"`
	Name                  string    `gorm:"column:name"`
	URL                   string    `gorm:"column:url"`
	SecretEnc             string    `gorm:"column:secret_enc"`
	OnRunFailed           bool      `gorm:"column:on_run_failed"`
	OnSafetyStop          bool      `gorm:"column:on_safety_stop"`
	OnSucceededWithErrors bool      `gorm:"column:on_succeeded_with_errors"`
	OnSucceeded           bool      `gorm:"column:on_succeeded"`
	Enabled               bool      `gorm:"column:enabled"`
	CreatedAt             time.Time `gorm:"column:created_at"`
	UpdatedAt             time.Time `gorm:"column:updated_at"`
	UpdatedBy             string    `gorm:"column:updated_by"`
}

func (Webhook) TableName() string { return "webhooks" }

// eventFlag is the field of w that subscribes it to event, nil for an
// unknown event.
func (w *Webhook) eventFlag(event string) *bool {
	switch event {
	case EventRunFailed:
		return &w.OnRunFailed
	case EventSafetyStop:
		return &w.OnSafetyStop
	case EventSucceededWithErrors:
		return &w.OnSucceededWithErrors
	case EventSucceeded:
		return &w.OnSucceeded
	}
	return nil
}

// Wants reports whether w subscribes to event.
func (w *Webhook) Wants(event string) bool {
	p := w.eventFlag(event)
	return p != nil && *p
}

// SetEvent subscribes w to event, or not; an unknown event is refused.
func (w *Webhook) SetEvent(event string, on bool) error {
	p := w.eventFlag(event)
	if p == nil {
		return Errorf(EINVALID, "unknown event %q", event)
	}
	*p = on
	return nil
}

// Events lists the events w subscribes to.
func (w *Webhook) Events() []string {
	var events []string
	for _, e := range NoticeEvents {
		if w.Wants(e.Event) {
			events = append(events, e.Event)
		}
	}
	return events
}

// Limits of a webhook's fields.
const (
	WebhookNameMax   = 128
	WebhookURLMax    = 2048
	WebhookSecretMin = 16
	WebhookSecretMax = 256
)

// Validate checks w (its name, URL and events, not its secret) as an
// administrator entered it, whatever the entry point: every problem at its
// field ("name", "url", "events") as FieldErrors, nil when it can be
// saved. It trims the name and normalises the URL.
func (w *Webhook) Validate() error {
	var errs FieldErrors
	w.Name = strings.TrimSpace(w.Name)
	if w.Name == "" {
		errs.Add("name", "Give the webhook a name, for the delivery log")
	} else if p := lineProblem(w.Name, WebhookNameMax); p != "" {
		errs.Add("name", "%s", valueMessage(p))
	}
	if u, err := ParseHTTPURL(w.URL, "webhook URL", WebhookURLMax); err != nil {
		errs.Add("url", "%s", ErrorMessage(err))
	} else {
		w.URL = u.String()
	}
	if len(w.Events()) == 0 {
		errs.Add("events", "Choose at least one event")
	}
	return errs.Err()
}

// ValidateWebhookSecret checks a new signing secret (the field "secret"):
// 16 to 256 bytes of text without NUL. It is used as it is typed (not
// trimmed).
func ValidateWebhookSecret(s string) error {
	switch {
	case len(s) < WebhookSecretMin:
		return Invalid("secret", "The signing secret must be at least 16 characters: a long random one, such as the output of openssl rand -hex 32")
	case len(s) > WebhookSecretMax:
		return Invalid("secret", "The signing secret must be at most 256 bytes")
	case encodingProblem(s) != "":
		return Invalid("secret", "The signing secret %s", encodingProblem(s))
	}
	return nil
}

// ParseHTTPURL checks an absolute http:// or https:// URL that the server
// calls or links to: at most max characters of UTF-8 without spaces or
// control characters, a host, no user name or password (a secret in the
// URL would be shown and logged) and no fragment. what names it in the
// messages. The scheme and host come back in lower case.
func ParseHTTPURL(s, what string, max int) (*url.URL, error) {
	switch {
	case s == "":
		return nil, Errorf(EINVALID, "Enter the %s, starting with https:// or http://", what)
	case encodingProblem(s) != "":
		return nil, Errorf(EINVALID, "The %s %s", what, encodingProblem(s))
	case lengthProblem(s, max) != "":
		return nil, Errorf(EINVALID, "The %s %s", what, lengthProblem(s, max))
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return nil, Errorf(EINVALID, "The %s must not contain spaces or control characters (write a space as %%20)", what)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, Errorf(EINVALID, "The %s is not a valid URL: check the characters after the host name", what)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, Errorf(EINVALID, "The %s must start with https:// or http://", what)
	case u.Opaque != "" || u.Hostname() == "":
		return nil, Errorf(EINVALID, "The %s needs a host name after %s://", what, u.Scheme)
	case u.User != nil:
		return nil, Errorf(EINVALID, "The %s must not carry a user name or password: they would be shown and logged", what)
	case u.Fragment != "" || strings.HasSuffix(s, "#"):
		return nil, Errorf(EINVALID, "The %s must not have a fragment (#…): it is never sent", what)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, Errorf(EINVALID, "The %s has a port outside 1 to 65535", what)
		}
	}
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

// Notice is a run's notice waiting in the outbox for one webhook: written
// with the run's final record, claimed by a delivery worker, deleted once
// delivered or given up. Attempts counts the claims; a claim's attempt
// number fences its outcome against a later claim of the same notice.
type Notice struct {
	ID            string    `gorm:"column:id;primaryKey"`
	WebhookID     string    `gorm:"column:webhook_id"`
	RunID         string    `gorm:"column:run_id"`
	Event         string    `gorm:"column:event"`
	Attempts      int       `gorm:"column:attempts"`
	NextAttemptAt time.Time `gorm:"column:next_attempt_at"`
	CreatedAt     time.Time `gorm:"column:created_at"`
}

func (Notice) TableName() string { return "notification_outbox" }

// Delivery outcomes: what one attempt came to.
const (
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryRetrying  = "retrying"  // it failed; another attempt is due
	DeliveryGaveUp    = "gave_up"   // it failed and was the last attempt
	DeliveryTestOK    = "test_ok"   // Send test, answered 2xx
	DeliveryTestFail  = "test_failed"
)

// Delivery is one attempt to deliver a notice, for the delivery log.
// StatusCode is the receiver's HTTP status, 0 when none came (refused,
// timed out); Error says what went wrong, without the URL.
type Delivery struct {
	ID         string    `gorm:"column:id;primaryKey"`
	NoticeID   string    `gorm:"column:notice_id"`
	WebhookID  string    `gorm:"column:webhook_id"`
	RunID      string    `gorm:"column:run_id"`
	Event      string    `gorm:"column:event"`
	Attempt    int       `gorm:"column:attempt"`
	At         time.Time `gorm:"column:at"`
	StatusCode int       `gorm:"column:status_code"`
	DurationMS int       `gorm:"column:duration_ms"`
	Outcome    string    `gorm:"column:outcome"`
	Error      string    `gorm:"column:error"`
}

func (Delivery) TableName() string { return "notification_deliveries" }

// OK reports whether the attempt reached the receiver and it accepted.
func (d *Delivery) OK() bool { return d.Outcome == DeliveryDelivered || d.Outcome == DeliveryTestOK }

// Audit actions on webhooks.
const (
	AuditWebhookCreate = "webhook.create"
	AuditWebhookSave   = "webhook.save"
	AuditWebhookDelete = "webhook.delete"
	AuditWebhookTest   = "webhook.test"
)
