// Package notify delivers run notices to webhooks: signed JSON posts,
// sent in the background from the durable outbox that the store fills when
// it records a run's end, with retries and backoff, and logged attempt by
// attempt.
//
// Each post carries:
//
//	Content-Type: application/json
//	X-IDM-Event: run_failed | safety_stop | succeeded_with_errors | succeeded | test
//	X-IDM-Delivery: the notice's id, the same on every retry (deduplicate on it)
//	X-IDM-Timestamp: Unix seconds when this attempt was signed
//	X-IDM-Signature: sha256=HEX(HMAC-SHA256(secret, timestamp + "." + body))
//
// A receiver recomputes the HMAC over the timestamp header, a dot and the
// raw body with the shared secret, compares it in constant time, and
// rejects a timestamp more than a few minutes from its clock (a replay).
package notify

import (
	"encoding/json"
	"strings"
	"time"

	"idm/internal/domain"
)

// Headers of every post.
const (
	HeaderEvent     = "X-IDM-Event"
	HeaderDelivery  = "X-IDM-Delivery"
	HeaderTimestamp = "X-IDM-Timestamp"
	HeaderSignature = "X-IDM-Signature"
)

// Payload is the JSON body of a notice.
type Payload struct {
	// NoticeID is X-IDM-Delivery: the same on every attempt.
	NoticeID string `json:"notice_id"`
	Event    string `json:"event"`
	// Test is true for Send test: no run stands behind it.
	Test        bool   `json:"test"`
	Job         string `json:"job"`
	ProcessName string `json:"process_name"`
	RunID       string `json:"run_id"`
	// Status is the run's final status (succeeded, succeeded_with_errors,
	// failed, safety_stop, aborted); StopReason the safety check's code.
	Status      string           `json:"status"`
	StatusLabel string           `json:"status_label"`
	StopReason  string           `json:"stop_reason,omitempty"`
	Trigger     string           `json:"trigger"`
	TriggeredBy string           `json:"triggered_by"`
	Counts      domain.RunCounts `json:"counts"`
	Message     string           `json:"message"`
	StartedAt   time.Time        `json:"started_at"`
	FinishedAt  *time.Time       `json:"finished_at"`
	// Instance is the server that ran the run.
	Instance string `json:"instance"`
	// RunURL is the run's page in Operator.
	RunURL string `json:"run_url"`
}

// runPayload is the notice of run r of job for noticeID; publicURL is the
// server's base URL.
func runPayload(noticeID, event string, r *domain.Run, job *domain.Job, publicURL string) Payload {
	return Payload{
		NoticeID: noticeID, Event: event,
		Job: string(r.JobKey), ProcessName: job.ProcessName, RunID: r.ID,
		Status: string(r.Status), StatusLabel: r.Status.Label(), StopReason: r.StopReason,
		Trigger: r.Trigger, TriggeredBy: r.TriggeredBy, Counts: r.RunCounts, Message: r.Message,
		StartedAt: r.StartedAt.UTC(), FinishedAt: utc(r.FinishedAt), Instance: r.Instance,
		RunURL: strings.TrimSuffix(publicURL, "/") + "/operator/runs/" + r.ID,
	}
}

// testPayload is what Send test posts to webhook id.
func testPayload(noticeID, id, by, instance, publicURL string, now time.Time) Payload {
	now = now.UTC()
	return Payload{
		NoticeID: noticeID, Event: domain.EventTest, Test: true,
		Status: "test", StatusLabel: "test",
		Message:   "A test notice from Identity Manager, sent by " + by + " from Admin > Notifications. No run stands behind it.",
		StartedAt: now, FinishedAt: &now, Instance: instance,
		RunURL: strings.TrimSuffix(publicURL, "/") + "/admin/notifications/" + id,
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// encode is the body of p.
func encode(p Payload) []byte {
	b, err := json.Marshal(p)
	if err != nil {
		// A Payload has no field that JSON cannot encode.
		panic("notify: encode payload: " + err.Error())
	}
	return b
}
