package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/testenv"
)

// apiRun is a run record as the API answers it.
type apiRun struct {
	ID          string           `json:"id"`
	Job         string           `json:"job"`
	Status      string           `json:"status"`
	Finished    bool             `json:"finished"`
	Trigger     string           `json:"trigger"`
	TriggeredBy string           `json:"triggered_by"`
	Counts      domain.RunCounts `json:"counts"`
}

type apiItems struct {
	Items []struct {
		Seq      int    `json:"seq"`
		Username string `json:"username"`
		Outcome  string `json:"outcome"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// TestAPIWholeRun drives a run as a program would, on both databases
// against slapd: start it, poll its record until it is finished, and read
// every item a page at a time; the items agree with the counts, and the run
// and its audit event name the token.
func TestAPIWholeRun(t *testing.T) {
	sl := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"))
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL, accounts: opAccounts})
		e.configureLDAP(t, sl.URL, sl.AdminDN, sl.AdminPassword)
		token := e.apiToken(t, "olga", "nightly-check", "30d")

		start := e.api(t, apiRequest{method: http.MethodPost, path: "/api/v1/jobs/active/runs", token: token, body: map[string]bool{"dry_run": false}})
		if start.status != http.StatusAccepted {
			t.Fatalf("start: %d %s", start.status, start.body)
		}
		var run apiRun
		start.json(t, &run)
		if run.ID == "" || run.Job != "active" || run.Trigger != domain.TriggerAPI || run.TriggeredBy != "token:nightly-check (account olga)" {
			t.Fatalf("start answered %+v", run)
		}
		run = e.pollRun(t, run.ID, token)
		if run.Status != string(domain.RunSucceeded) || run.Counts.Created != 7 {
			t.Fatalf("finished run %+v, want succeeded with 7 created (the active people of people.ldif)", run)
		}
		items := e.allItems(t, run.ID, token, url.Values{"limit": {"3"}})
		if len(items) != run.Counts.Created {
			t.Fatalf("%d items over the pages, want %d (created)", len(items), run.Counts.Created)
		}
		for i, it := range items {
			if it != domain.OutcomeCreated {
				t.Errorf("item %d: outcome %s", i, it)
			}
		}
		if none := e.allItems(t, run.ID, token, url.Values{"outcome": {"error"}}); len(none) != 0 {
			t.Errorf("error items: %v, want none", none)
		}
		e.expectAuditBy(t, domain.AuditJobRun, "token:nightly-check (account olga)")
	})
}

// pollRun reads run id until it is finished, as the README's curl loop does.
func (e *testEnv) pollRun(t *testing.T, id, token string) apiRun {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := e.apiGet(t, "/api/v1/runs/"+id, token)
		if a.status != http.StatusOK {
			t.Fatalf("poll: %d %s", a.status, a.body)
		}
		var run apiRun
		a.json(t, &run)
		if run.Finished {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after 30 s", id, run.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// allItems follows next_cursor through every page of run id's items and
// returns their outcomes, checking that seq only grows.
func (e *testEnv) allItems(t *testing.T, id, token string, q url.Values) []string {
	t.Helper()
	var outcomes []string
	last := 0
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("more than 100 pages: the cursor does not move")
		}
		a := e.apiGet(t, "/api/v1/runs/"+id+"/items?"+q.Encode(), token)
		if a.status != http.StatusOK {
			t.Fatalf("items: %d %s", a.status, a.body)
		}
		var page apiItems
		a.json(t, &page)
		for _, it := range page.Items {
			if it.Seq <= last {
				t.Fatalf("seq %d after %d: an item shown twice or out of order", it.Seq, last)
			}
			last = it.Seq
			outcomes = append(outcomes, it.Outcome)
		}
		if page.NextCursor == "" {
			return outcomes
		}
		q.Set("cursor", page.NextCursor)
	}
}

// expectAuditBy finds an audit event of action by actor.
func (e *testEnv) expectAuditBy(t *testing.T, action, actor string) {
	t.Helper()
	for _, ev := range e.audit() {
		if ev.Action == action && ev.Actor == actor {
			return
		}
	}
	t.Fatalf("no %s audit event by %q in %+v", action, actor, e.audit())
}
