package notify_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/notify"
	"idm/internal/testenv"
)

// TestSignedNotice: a failed run's notice arrives signed, with the run's
// figures and a link to its page, only at the webhooks that asked for it.
func TestSignedNotice(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		o := newOutbox(t, dbURL)
		failures, successes := newReceiver(t), newReceiver(t)
		hook := o.webhook(failures.URL, domain.EventRunFailed, domain.EventSafetyStop)
		o.webhook(successes.URL, domain.EventSucceeded)
		run := o.finishRun(domain.JobInactive, domain.RunFailed)
		o.start()

		got := failures.next(t)
		if ev := got.header.Get(notify.HeaderEvent); ev != domain.EventRunFailed {
			t.Errorf("%s = %q", notify.HeaderEvent, ev)
		}
		p := verify(t, got)
		want := notify.Payload{
			NoticeID: p.NoticeID, Event: domain.EventRunFailed, Job: "inactive",
			ProcessName: "Synchronize inactive LDAP Users to Identity Manager", RunID: run.ID,
			Status: "failed", StatusLabel: "failed", Trigger: domain.TriggerSchedule, TriggeredBy: "scheduler",
			Counts: run.RunCounts, Message: run.Message, StartedAt: run.StartedAt.UTC(), Instance: "node-a",
			RunURL: publicURL + "/operator/runs/" + run.ID,
		}
		if p.FinishedAt == nil || !p.FinishedAt.Equal(*run.FinishedAt) || !p.StartedAt.Equal(run.StartedAt) {
			t.Errorf("started %v finished %v, want %v and %v", p.StartedAt, p.FinishedAt, run.StartedAt, run.FinishedAt)
		}
		p.FinishedAt, p.StartedAt = nil, want.StartedAt
		if p != want {
			t.Errorf("body\n got %+v\nwant %+v", p, want)
		}
		successes.none(t, 200*time.Millisecond)
		ds := o.waitDeliveries(hook.ID, 1)
		if len(ds) != 1 || ds[0].Outcome != domain.DeliveryDelivered || ds[0].StatusCode != 200 || ds[0].RunID != run.ID {
			t.Errorf("delivery log %+v, want one delivered with 200", ds)
		}
		if n := o.pending(); n != 0 {
			t.Errorf("%d notices still waiting", n)
		}
	})
}

// TestRetryAfter500: a receiver that answers 500 gets the same notice
// again after the backoff, newly signed, until it accepts it.
func TestRetryAfter500(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		o := newOutbox(t, dbURL)
		rc := newReceiver(t, http.StatusInternalServerError)
		hook := o.webhook(rc.URL, domain.EventSafetyStop)
		o.finishRun(domain.JobActive, domain.RunSafetyStop)
		o.start()

		first, second := verify(t, rc.next(t)), verify(t, rc.next(t))
		if first.NoticeID != second.NoticeID {
			t.Errorf("the retry is notice %s, the first %s: a receiver deduplicates on it", second.NoticeID, first.NoticeID)
		}
		ds := o.waitDeliveries(hook.ID, 2)
		if len(ds) != 2 {
			t.Fatalf("delivery log %+v, want two attempts", ds)
		}
		if d := ds[0]; d.Attempt != 1 || d.StatusCode != 500 || d.Outcome != domain.DeliveryRetrying || !strings.Contains(d.Error, "500 Internal Server Error") {
			t.Errorf("first attempt %+v, want a 500 to retry", d)
		}
		if d := ds[1]; d.Attempt != 2 || d.StatusCode != 200 || d.Outcome != domain.DeliveryDelivered {
			t.Errorf("second attempt %+v, want delivered", d)
		}
	})
}

// TestHungReceiverTimedOut: a receiver that never answers is timed out
// after the attempt's timeout and tried again; the worker goes on.
func TestHungReceiverTimedOut(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		o := newOutbox(t, dbURL)
		hung := newReceiver(t, 0)
		hook := o.webhook(hung.URL, domain.EventRunFailed)
		o.finishRun(domain.JobInactive, domain.RunAborted)
		o.start()

		ds := o.waitDeliveries(hook.ID, 2)
		if len(ds) != 2 {
			t.Fatalf("delivery log %+v, want a timed-out attempt and a delivered one", ds)
		}
		if d := ds[0]; d.StatusCode != 0 || d.Outcome != domain.DeliveryRetrying || !strings.Contains(d.Error, "timed out") {
			t.Errorf("first attempt %+v, want timed out", d)
		}
		if d := ds[1]; d.Outcome != domain.DeliveryDelivered {
			t.Errorf("second attempt %+v, want delivered", d)
		}
		if p := verify(t, hung.next(t)); p.Status != string(domain.RunAborted) {
			t.Errorf("status %q, want aborted", p.Status)
		}
	})
}

// TestGivenUp: a notice that keeps failing is given up after its last
// attempt and leaves the outbox.
func TestGivenUp(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		o := newOutbox(t, dbURL, 10*time.Millisecond)
		rc := newReceiver(t, 503, 503, 503)
		hook := o.webhook(rc.URL, domain.EventSucceededWithErrors)
		o.finishRun(domain.JobActive, domain.RunSucceededWithErrors)
		o.start()

		ds := o.waitDeliveries(hook.ID, 2)
		if len(ds) != 2 || ds[1].Outcome != domain.DeliveryGaveUp || !strings.Contains(ds[1].Error, "given up after 2 attempts") {
			t.Fatalf("delivery log %+v, want two attempts, the last given up", ds)
		}
		rc.next(t)
		rc.next(t)
		rc.none(t, 200*time.Millisecond)
		if n := o.pending(); n != 0 {
			t.Errorf("%d notices still waiting", n)
		}
	})
}

// TestEngineRunNotifies: a run the engine ends wakes the worker, and its
// notice goes out; a dry run announces nothing.
func TestEngineRunNotifies(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		o := newOutbox(t, dbURL)
		rc := newReceiver(t)
		o.webhook(rc.URL, domain.EventRunFailed)
		eng := engine.New(engine.Deps{DB: o.db, Instance: "node-b", Logger: slog.New(slog.DiscardHandler), Observer: o.worker})
		t.Cleanup(func() { _ = eng.Shutdown(context.Background()) })
		o.start()

		// No LDAP connection is configured: the run fails at once.
		if _, err := eng.Run(context.Background(), domain.JobActive, engine.RunOptions{Trigger: domain.TriggerManual, By: "alice", DryRun: true}); err != nil {
			t.Fatal(err)
		}
		rc.none(t, 200*time.Millisecond)
		r, err := eng.Run(context.Background(), domain.JobActive, engine.RunOptions{Trigger: domain.TriggerManual, By: "alice"})
		if err != nil || r.Status != domain.RunFailed {
			t.Fatalf("run: %v, %+v", err, r)
		}
		p := verify(t, rc.next(t))
		if p.RunID != r.ID || p.TriggeredBy != "alice" || p.Instance != "node-b" || !strings.Contains(p.Message, "not configured") {
			t.Errorf("notice %+v of run %+v", p, r)
		}
	})
}

// TestAbortedByRecoveryNotifies: a run a dead process left running is
// recorded as aborted, and that is announced as a failure.
func TestAbortedByRecoveryNotifies(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		o := newOutbox(t, dbURL)
		rc := newReceiver(t)
		o.webhook(rc.URL, domain.EventRunFailed)
		eng := engine.New(engine.Deps{DB: o.db, Instance: "node-a", Logger: slog.New(slog.DiscardHandler)})
		start := o.db.Now()
		// Left by node-a's previous process, whose sessions died with it.
		run := &domain.Run{ID: "left-running", JobKey: domain.JobInactive, Trigger: domain.TriggerSchedule,
			Status: domain.RunRunning, StartedAt: start, HeartbeatAt: start, Instance: "node-a", Owner: "idm-dead-process"}
		testenv.InsertRun(t, o.db, run)
		if n, err := eng.Recover(context.Background()); err != nil || n != 1 {
			t.Fatalf("recover: %d, %v", n, err)
		}
		o.start()
		if p := verify(t, rc.next(t)); p.RunID != run.ID || p.Status != "aborted" || p.Event != domain.EventRunFailed {
			t.Errorf("notice %+v", p)
		}
	})
}

// TestClusterSendsOnce: four instances on one PostgreSQL database share the
// outbox, and each notice reaches the receiver once.
func TestClusterSendsOnce(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	box := testenv.SecretBox(t)
	var instances []*outbox
	for range 4 {
		instances = append(instances, newOutboxOn(t, testenv.MustOpenDB(t, dbURL), box))
	}
	rc := newReceiver(t)
	instances[0].webhook(rc.URL, domain.EventRunFailed)
	const runs = 60
	for range runs {
		instances[0].finishRun(domain.JobInactive, domain.RunFailed)
	}
	for _, o := range instances {
		o.start()
	}

	var mu sync.Mutex
	seen := map[string]int{}
	for range runs {
		p := verify(t, rc.next(t))
		mu.Lock()
		seen[p.NoticeID]++
		mu.Unlock()
	}
	rc.none(t, 300*time.Millisecond)
	if len(seen) != runs {
		t.Errorf("%d distinct notices, want %d", len(seen), runs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("notice %s arrived %d times", id, n)
		}
	}
}

// TestSendTest: Send test posts a signed test notice at once and logs it,
// answered or not.
func TestSendTest(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		o := newOutbox(t, dbURL)
		rc := newReceiver(t, http.StatusOK, http.StatusTeapot)
		hook := o.webhook(rc.URL, domain.EventRunFailed)
		ctx := context.Background()

		d, err := o.worker.SendTest(ctx, hook.ID, "alice")
		if err != nil || !d.OK() || d.StatusCode != 200 {
			t.Fatalf("SendTest: %+v, %v", d, err)
		}
		p := verify(t, rc.next(t))
		if !p.Test || p.Event != domain.EventTest || p.RunURL != publicURL+"/admin/notifications/"+hook.ID || !strings.Contains(p.Message, "alice") {
			t.Errorf("test notice %+v", p)
		}
		d, err = o.worker.SendTest(ctx, hook.ID, "alice")
		if err != nil || d.OK() || d.StatusCode != http.StatusTeapot || d.Outcome != domain.DeliveryTestFail {
			t.Errorf("SendTest to a 418: %+v, %v", d, err)
		}
		if ds := o.deliveries(hook.ID); len(ds) != 2 {
			t.Errorf("delivery log %+v, want both tests", ds)
		}
		if _, err := o.worker.SendTest(ctx, "no-such-webhook", "alice"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("SendTest to no webhook: %v, want ENOTFOUND", err)
		}
	})
}

// TestDeliveryLogPruned: after each attempt it records, a run's notice or
// Send test, the worker trims the webhook's delivery log to its newest
// attempts.
func TestDeliveryLogPruned(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		o := newOutbox(t, dbURL)
		w, err := notify.New(notify.Options{
			Store: o.db, OpenSecret: o.box.Open, PublicURL: publicURL, Now: o.db.Now,
			Logger: slog.New(slog.DiscardHandler), Timeout: testTimeout, PollEvery: 20 * time.Millisecond, KeepDeliveries: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		o.worker = w
		rc := newReceiver(t)
		hook := o.webhook(rc.URL, domain.EventRunFailed)
		var tests []string
		for range 3 {
			d, err := w.SendTest(context.Background(), hook.ID, "alice")
			if err != nil || !d.OK() {
				t.Fatalf("SendTest: %+v, %v", d, err)
			}
			tests = append(tests, d.NoticeID)
		}
		if ds := o.deliveries(hook.ID); len(ds) != 2 || ds[0].NoticeID != tests[1] || ds[1].NoticeID != tests[2] {
			t.Fatalf("delivery log %+v, want the last two tests (%v)", ds, tests[1:])
		}
		run := o.finishRun(domain.JobInactive, domain.RunFailed)
		o.start()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ds := o.deliveries(hook.ID)
			if len(ds) == 2 && ds[0].NoticeID == tests[2] && ds[1].RunID == run.ID {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery log %+v, want the last test and the run's notice", ds)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
