package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/testenv"
)

// gatedDialer holds every run at its first step (connecting to the
// directory) until release is closed, then fails to connect: the run stops
// with nothing changed.
func gatedDialer(dialing chan<- struct{}, release <-chan struct{}) engine.Dialer {
	return func(ctx context.Context, _ domain.LDAPSettings, _ string) (engine.Source, error) {
		dialing <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, errors.New("directory unreachable (test)")
	}
}

func countRuns(t *testing.T, e *testEnv) int {
	t.Helper()
	n := 0
	for _, k := range domain.JobKeys {
		_, total, err := e.db.ListRuns(context.Background(), k, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		n += total
	}
	return n
}

func TestRunNow(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		dialing, release := make(chan struct{}, 4), make(chan struct{})
		e := newEnv(t, envOptions{dbURL: dbURL, accounts: opAccounts, dial: gatedDialer(dialing, release)})
		e.configureLDAP(t, "ldap://127.0.0.1:1", "cn=admin,dc=example,dc=com", "secret")
		olga := e.signIn(t, "olga")
		released := false
		defer func() {
			if !released {
				close(release)
			}
		}()

		res := olga.post(t, "/operator/jobs/inactive/run", nil, nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operator/jobs" {
			t.Fatalf("Run now: %d → %q, want 303 to /operator/jobs: %s", res.StatusCode, res.Header.Get("Location"), readAll(t, res))
		}
		select {
		case <-dialing:
		case <-time.After(10 * time.Second):
			t.Fatal("the run did not start")
		}

		t.Run("RunningShownWithButtonDisabled", func(t *testing.T) { runningShownWithButtonDisabled(t, olga) })

		for _, tc := range []struct{ name, job string }{{"SameJobRefused", "inactive"}, {"OtherJobRefused", "active"}} {
			t.Run(tc.name, func(t *testing.T) {
				res := olga.post(t, "/operator/jobs/"+tc.job+"/run", nil, nil)
				body := readAll(t, res)
				if res.StatusCode != http.StatusConflict || !strings.Contains(body, "already running") || !strings.Contains(body, "olga") {
					t.Fatalf("second Run now: %d, want 409 saying the inactive job is already running (started by olga):\n%s", res.StatusCode, body)
				}
				// One voice: the process by its name, the time as every page
				// shows it, in the configured zone.
				msg := testid(parseHTMLString(t, body), "job-notice")
				want := regexp.MustCompile(`^Synchronize .* was not started: Synchronize inactive LDAP Users to Identity Manager is already running on web-test, ` +
					`started at 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d CES?T by olga\.$`)
				if !want.MatchString(msg) {
					t.Errorf("refusal %q, want it to match %s", msg, want)
				}
			})
		}
		t.Run("HTMXRefusedInTheCard", func(t *testing.T) {
			res := olga.post(t, "/operator/jobs/inactive/run", url.Values{"dry_run": {"1"}}, http.Header{"Hx-Request": {"true"}})
			body := readAll(t, res)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="job-notice"`) || !strings.Contains(body, "already running") ||
				strings.Contains(body, "<html") {
				t.Fatalf("htmx Run now while running: %d, want the card fragment with the refusal:\n%s", res.StatusCode, body)
			}
		})
		if n := countRuns(t, e); n != 1 {
			t.Fatalf("%d runs recorded, want exactly 1", n)
		}

		close(release)
		released = true
		t.Run("PollingStopsWithTheResult", func(t *testing.T) { pollingStopsWithTheResult(t, olga) })

		t.Run("AuditedAsTheOperator", func(t *testing.T) { auditedAsTheOperator(t, e) })

		t.Run("UnknownJob", func(t *testing.T) {
			res := olga.post(t, "/operator/jobs/nosuch/run", nil, nil)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("Run now of an unknown job: %d, want 404", res.StatusCode)
			}
		})
	})
}

func auditedAsTheOperator(t *testing.T, e *testEnv) {
	events, _, err := e.db.ListAudit(context.Background(), 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.Action == domain.AuditJobRun {
			n++
			if ev.Actor != "olga" || ev.Target != "inactive" {
				t.Errorf("audit event %+v, want olga running inactive", ev)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d job.run audit events, want 1", n)
	}
}

func pollingStopsWithTheResult(t *testing.T, olga *client) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := olga.get(t, "/operator/jobs/inactive/status")
		if !strings.Contains(body, "hx-trigger") {
			if !strings.Contains(body, `data-testid="job-last-status"`) || !strings.Contains(body, "stopped by a safety check") {
				t.Fatalf("the final fragment lacks the result:\n%s", body)
			}
			if strings.Contains(between(body, `data-testid="run-now"`, ">"), "disabled") {
				t.Error("Run now still disabled after the run ended")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still polling 10s after the run was released:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runningShownWithButtonDisabled(t *testing.T, olga *client) {
	_, body := olga.get(t, "/operator/jobs")
	card := between(body, `data-testid="job-inactive"`, "</article>")
	for _, want := range []string{`data-status="running"`, `hx-trigger="every 1s"`, `hx-get="/operator/jobs/inactive/status"`, `data-testid="job-progress"`, "<progress"} {
		if !strings.Contains(card, want) {
			t.Errorf("the running job's card lacks %s:\n%s", want, card)
		}
	}
	if !strings.Contains(between(card, `data-testid="run-now"`, ">"), "disabled") {
		t.Error("Run now is not disabled while the job runs")
	}
	if !strings.Contains(body, "Synchronize inactive LDAP Users to Identity Manager started.") {
		t.Error("no flash saying the run started")
	}
}

// between returns the part of s from the first from to the next to after it.
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j+len(to)]
}
