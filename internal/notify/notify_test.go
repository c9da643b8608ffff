package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/notify"
	"idm/internal/secret"
	"idm/internal/store"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	publicURL   = "https://idm.example.test"
	hookSecret  = "a shared secret of some length"
	testTimeout = 300 * time.Millisecond
)

// received is one request the receiver got.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a real HTTP server that records what it receives and
// answers with the next of its statuses (200 once they run out); a status
// of 0 hangs until the request is given up.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      chan received
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{statuses: statuses, got: make(chan received, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.got <- received{header: r.Header.Clone(), body: body, at: time.Now()}
	rc.mu.Lock()
	status := http.StatusOK
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	rc.mu.Unlock()
	if status == 0 {
		<-r.Context().Done() // hung: answers nothing until the sender gives up
		return
	}
	w.WriteHeader(status)
}

// next waits for the next request.
func (rc *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got nothing within 10s")
		return received{}
	}
}

// none checks that nothing more arrives for a while.
func (rc *receiver) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case r := <-rc.got:
		t.Fatalf("unexpected notice: %s %s", r.header.Get(notify.HeaderEvent), r.body)
	case <-time.After(wait):
	}
}

// outbox is a store with a secret box and a worker over it.
type outbox struct {
	t      *testing.T
	db     *store.DB
	box    *secret.Box
	worker *notify.Worker
}

func newOutbox(t *testing.T, dbURL string, backoff ...time.Duration) *outbox {
	t.Helper()
	return newOutboxOn(t, testenv.MustOpenDB(t, dbURL), testenv.SecretBox(t), backoff...)
}

func newOutboxOn(t *testing.T, db *store.DB, box *secret.Box, backoff ...time.Duration) *outbox {
	t.Helper()
	if backoff == nil {
		backoff = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}
	}
	w, err := notify.New(notify.Options{
		Store: db, OpenSecret: box.Open, PublicURL: publicURL, Instance: "notify-test", Now: db.Now,
		Logger: slog.New(slog.DiscardHandler), Timeout: testTimeout, Backoff: backoff, PollEvery: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &outbox{t: t, db: db, box: box, worker: w}
}

// start runs the worker until the test ends.
func (o *outbox) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.worker.Run(ctx) }()
	o.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			o.t.Errorf("worker: %v", err)
		}
	})
}

// webhook stores a webhook to url for events, signed with hookSecret.
func (o *outbox) webhook(url string, events ...string) *domain.Webhook {
	o.t.Helper()
	sealed, err := o.box.Seal(hookSecret)
	if err != nil {
		o.t.Fatal(err)
	}
	w := &domain.Webhook{Name: "receiver", URL: url, SecretEnc: sealed, Enabled: true}
	for _, e := range events {
		if err := w.SetEvent(e, true); err != nil {
			o.t.Fatal(err)
		}
	}
	if err := o.db.CreateWebhook(context.Background(), w, "test"); err != nil {
		o.t.Fatal(err)
	}
	return w
}

// finishRun records a run of key that ended with status, as the engine
// does: started, then its final record (which enqueues its notices).
func (o *outbox) finishRun(key domain.JobKey, status domain.RunStatus) *domain.Run {
	o.t.Helper()
	ctx := context.Background()
	// Whole microseconds: PostgreSQL keeps no finer.
	start := o.db.Now().Add(-time.Minute).Truncate(time.Microsecond)
	r := &domain.Run{ID: store.NewID(), JobKey: key, Trigger: domain.TriggerSchedule, TriggeredBy: "scheduler",
		Status: domain.RunRunning, StartedAt: start, HeartbeatAt: start, Instance: "node-a"}
	if err := o.db.CreateRun(ctx, r, start.Add(-time.Hour)); err != nil {
		o.t.Fatal(err)
	}
	end := o.db.Now().Truncate(time.Microsecond)
	r.Status, r.FinishedAt, r.Message = status, &end, "Failed: the directory search failed after 20 entries."
	r.RunCounts = domain.RunCounts{Read: 20, Deactivated: 3, CredentialsChanged: 5, CertificatesOnHold: 4, Errors: 1}
	if err := o.db.FinishRun(ctx, r); err != nil {
		o.t.Fatal(err)
	}
	return r
}

// deliveries is the delivery log of webhook id, oldest first.
func (o *outbox) deliveries(id string) []domain.Delivery {
	o.t.Helper()
	ds, err := o.db.ListDeliveries(context.Background(), id, 100)
	if err != nil {
		o.t.Fatal(err)
	}
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}

// waitDeliveries waits until webhook id's log has n attempts.
func (o *outbox) waitDeliveries(id string, n int) []domain.Delivery {
	o.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds := o.deliveries(id)
		if len(ds) >= n || time.Now().After(deadline) {
			return ds
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pending counts the notices waiting in the outbox.
func (o *outbox) pending() int {
	o.t.Helper()
	m, err := o.db.PendingNotices(context.Background())
	if err != nil {
		o.t.Fatal(err)
	}
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// verify checks r's signature as a receiver would, with its own HMAC, and
// that its timestamp is fresh; it returns the decoded body.
func verify(t *testing.T, r received) notify.Payload {
	t.Helper()
	ts := r.header.Get(notify.HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatalf("%s = %q: %v", notify.HeaderTimestamp, ts, err)
	}
	if d := r.at.Sub(time.Unix(sec, 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("timestamp %s is %v from the time it arrived", ts, d)
	}
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write([]byte(ts + "." + string(r.body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.header.Get(notify.HeaderSignature); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("signature %q, want %q", got, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var p notify.Payload
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("body: %v\n%s", err, r.body)
	}
	if got := r.header.Get(notify.HeaderDelivery); got != p.NoticeID || got == "" {
		t.Errorf("%s = %q, body's notice_id %q", notify.HeaderDelivery, got, p.NoticeID)
	}
	if strings.Contains(string(r.body), hookSecret) {
		t.Error("the body carries the secret")
	}
	return p
}
