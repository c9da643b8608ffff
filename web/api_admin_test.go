package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"idm/internal/cluster"
	"idm/internal/domain"
)

// TestAPIScheduleSave: a PUT goes the Admin form's way: a bad expression is
// a 422 with the form's reason at expression, a stale version a 409 saying
// who saved since; a good one is saved, taken by the running scheduler at
// once and announced to the other instances.
func TestAPIScheduleSave(t *testing.T) {
	e := newAccessEnv(t)
	admin := e.tokens["Administrator"]
	put := func(body map[string]any) apiAnswer {
		return e.api(t, apiRequest{method: http.MethodPut, path: "/api/v1/jobs/inactive/schedule", token: admin, body: body})
	}
	v := e.job(domain.JobInactive).Version

	t.Run("ErrInvalidCron", func(t *testing.T) {
		a := put(map[string]any{"expression": "0 0 30 2 *", "enabled": true, "version": v})
		if a.status != http.StatusUnprocessableEntity || !hasField(a.problem(t), "expression") || !strings.Contains(string(a.body), "February") {
			t.Fatalf("%d %s, want 422 at expression with the form's reason", a.status, a.body)
		}
	})
	t.Run("OKReschedules", func(t *testing.T) {
		a := put(map[string]any{"expression": "*/5 * * * *", "enabled": true, "version": v})
		var s struct {
			Version int        `json:"version"`
			NextRun *time.Time `json:"next_run"`
		}
		a.json(t, &s)
		if a.status != http.StatusOK || s.Version != v+1 || s.NextRun == nil {
			t.Fatalf("%d %s", a.status, a.body)
		}
		next, ok := e.sched.NextRun(domain.JobInactive)
		if !ok || !next.Equal(*s.NextRun) || time.Until(next) > 5*time.Minute {
			t.Fatalf("scheduler's next run %v %v, answer's %v: not rescheduled", next, ok, s.NextRun)
		}
		if !slices.Contains(e.notified.list(), cluster.TopicJobs) {
			t.Errorf("announced %v, want %s", e.notified.list(), cluster.TopicJobs)
		}
		if j := e.job(domain.JobInactive); j.UpdatedBy != "token:administrator (account adam)" {
			t.Errorf("updated by %q", j.UpdatedBy)
		}
	})
	t.Run("ErrStaleVersion", func(t *testing.T) {
		a := put(map[string]any{"expression": "0 1 * * *", "enabled": true, "version": v})
		if a.status != http.StatusConflict || !strings.Contains(a.problem(t).Error.Message, "changed by token:administrator (account adam)") {
			t.Fatalf("%d %s, want 409 naming who saved", a.status, a.body)
		}
		if j := e.job(domain.JobInactive); j.CronExpression != "*/5 * * * *" {
			t.Errorf("a stale save changed the expression to %q", j.CronExpression)
		}
	})
}

// TestAPILDAPSave: the bind password is write-only, and the rule of the
// hardening issue holds: a changed server needs the password again.
func TestAPILDAPSave(t *testing.T) {
	e := newAccessEnv(t)
	admin := e.tokens["Administrator"]
	put := func(body map[string]any) apiAnswer {
		return e.api(t, apiRequest{method: http.MethodPut, path: "/api/v1/ldap", token: admin, body: body})
	}
	t.Run("ErrChangedServerWithoutPassword", func(t *testing.T) {
		body := e.ldapBody(t).(map[string]any)
		body["url"] = "ldaps://elsewhere.example.com:636"
		a := put(body)
		if a.status != http.StatusUnprocessableEntity || !hasField(a.problem(t), "bind_password") {
			t.Fatalf("%d %s, want 422 at bind_password", a.status, a.body)
		}
		if s, _ := e.db.LDAPSettings(t.Context()); s.URL != "ldap://127.0.0.1:1" {
			t.Errorf("saved %s", s.URL)
		}
	})
	t.Run("OKChangedServerWithPassword", func(t *testing.T) {
		body := e.ldapBody(t).(map[string]any)
		body["url"], body["bind_password"] = "ldaps://elsewhere.example.com:636", "n3w-bind-secret"
		a := put(body)
		if a.status != http.StatusOK || strings.Contains(string(a.body), "n3w-bind-secret") || !strings.Contains(string(a.body), `"bind_password_set":true`) {
			t.Fatalf("%d %s", a.status, a.body)
		}
		s, _ := e.db.LDAPSettings(t.Context())
		if plain, err := e.box.Open(s.BindPasswordEnc); err != nil || plain != "n3w-bind-secret" {
			t.Fatalf("stored password %q %v", plain, err)
		}
		if got := e.apiGet(t, "/api/v1/ldap", admin); strings.Contains(string(got.body), "n3w-bind-secret") || strings.Contains(string(got.body), s.BindPasswordEnc) {
			t.Fatal("GET /ldap gave the password back")
		}
		e.expectAuditBy(t, domain.AuditLDAPSave, "token:administrator (account adam)")
	})
	t.Run("ErrStaleVersion", func(t *testing.T) {
		body := e.ldapBody(t).(map[string]any)
		body["version"] = 0
		if a := put(body); a.status != http.StatusConflict {
			t.Fatalf("%d %s, want 409", a.status, a.body)
		}
	})
}

// TestAPIRunConflict: while a run is in progress, a start is a 409 with
// Run now's message, and no second run is recorded.
func TestAPIRunConflict(t *testing.T) {
	dialing, release := make(chan struct{}, 4), make(chan struct{})
	e := newEnv(t, envOptions{accounts: opAccounts, dial: gatedDialer(dialing, release)})
	e.configureLDAP(t, "ldap://127.0.0.1:1", "cn=admin,dc=example,dc=com", "secret")
	token := e.apiToken(t, "olga", "ci", "")
	start := func(job string) apiAnswer {
		return e.api(t, apiRequest{method: http.MethodPost, path: "/api/v1/jobs/" + job + "/runs", token: token})
	}
	first := start("inactive")
	if first.status != http.StatusAccepted {
		t.Fatalf("first start: %d %s", first.status, first.body)
	}
	<-dialing
	for _, job := range []string{"inactive", "active"} {
		a := start(job)
		if a.status != http.StatusConflict || !strings.Contains(a.problem(t).Error.Message, "was not started") {
			t.Errorf("start %s while a run is in progress: %d %s", job, a.status, a.body)
		}
	}
	var run apiRun
	first.json(t, &run)
	running := e.apiGet(t, "/api/v1/jobs", token)
	if !strings.Contains(string(running.body), `"running":true`) || !strings.Contains(string(running.body), run.ID) {
		t.Errorf("GET /jobs while running: %s", running.body)
	}
	close(release)
	// The inactive job stops by a safety check when it cannot search.
	if got := e.pollRun(t, run.ID, token); got.Status != string(domain.RunSafetyStop) {
		t.Errorf("run ended %s, want safety_stop (the directory was unreachable)", got.Status)
	}
	if n := countRuns(t, e); n != 1 {
		t.Errorf("%d runs recorded, want 1", n)
	}
}

// TestAPIIgnoresCookies: a signed-in browser's session cookie opens no
// endpoint, and cross-site headers do not stop a token: the API neither
// reads cookies nor needs CSRF protection.
func TestAPIIgnoresCookies(t *testing.T) {
	e := newEnv(t, envOptions{})
	cookie := e.cookie.Name + "=" + e.cookie.Value
	a := e.api(t, apiRequest{method: http.MethodGet, path: "/api/v1/jobs", header: http.Header{"Cookie": {cookie}}})
	if a.status != http.StatusUnauthorized {
		t.Fatalf("session cookie alone: %d %s, want 401", a.status, a.body)
	}
	token := e.apiToken(t, testAdmin, "cross-site", "")
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}, "Cookie": {cookie}}
	a = e.api(t, apiRequest{method: http.MethodPost, path: "/api/v1/jobs/active/runs", token: token, header: crossSite, body: map[string]bool{"dry_run": true}})
	if a.status != http.StatusAccepted {
		t.Fatalf("token with cross-site headers: %d %s, want 202", a.status, a.body)
	}
	var run apiRun
	a.json(t, &run)
	if run.TriggeredBy != "token:cross-site (account alice)" {
		t.Errorf("run started by %q: the cookie's account must play no part", run.TriggeredBy)
	}
	e.pollRun(t, run.ID, token)
}
