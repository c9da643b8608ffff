package web_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/store"
)

// apiEndpoint is one operation of the API, with a request that succeeds
// for whoever may call it.
type apiEndpoint struct {
	name, method, path string
	body               func(t *testing.T) any // nil for none
	adminOnly          bool
	ok                 int
}

// accessEnv is an API with something behind every endpoint (a finished
// run, a user, a configured LDAP connection) and one token of each kind.
type accessEnv struct {
	*testEnv
	runID  string
	tokens map[string]string // kind → token ("" for none)
}

func newAccessEnv(t *testing.T) *accessEnv {
	t.Helper()
	return newAccessEnvOn(t, "")
}

// newAccessEnvOn is newAccessEnv on the database dbURL (SQLite when "").
func newAccessEnvOn(t *testing.T, dbURL string) *accessEnv {
	t.Helper()
	e := &accessEnv{testEnv: newEnv(t, envOptions{dbURL: dbURL, statements: true, accounts: append(opAccounts, account{"dora", domain.RoleAdministrator})})}
	e.configureLDAP(t, "ldap://127.0.0.1:1", "cn=admin,dc=example,dc=com", "secret")
	e.runID = e.finishedRun(t, domain.JobActive, domain.RunSucceeded).ID
	if _, err := e.db.ImportUser(context.Background(), store.UserDetail{User: domain.User{Username: "ann", State: domain.UserActive, Source: domain.SourceImport}}); err != nil {
		t.Fatal(err)
	}
	e.tokens = map[string]string{
		"NoToken":       "",
		"Expired":       e.storedToken(t, "adam", "expired", time.Now().Add(-time.Minute)),
		"Revoked":       e.apiToken(t, "adam", "revoked", ""),
		"Disabled":      e.apiToken(t, "dora", "of-disabled", ""),
		"Operator":      e.apiToken(t, "olga", "operator", ""),
		"Administrator": e.apiToken(t, "adam", "administrator", ""),
	}
	e.revoke(t, "revoked")
	if err := e.db.SetAccountDisabled(context.Background(), "dora", true, "test"); err != nil {
		t.Fatal(err)
	}
	return e
}

// storedToken stores a token of account that expires at expires (which
// the token service would refuse when in the past), and returns it.
func (e *testEnv) storedToken(t *testing.T, account, name string, expires time.Time) string {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	plain := auth.TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	tok := &domain.APIToken{ID: store.NewID(), Name: name, TokenHash: auth.HashToken(plain), CreatedAt: expires.Add(-time.Hour).UTC(), ExpiresAt: expires.UTC()}
	if err := e.db.CreateToken(context.Background(), tok, account, "test"); err != nil {
		t.Fatal(err)
	}
	return plain
}

// revoke revokes the token named name.
func (e *testEnv) revoke(t *testing.T, name string) {
	t.Helper()
	list, err := e.db.ListTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.Name == name {
			if _, err := e.db.RevokeToken(context.Background(), tok.ID, "test"); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no token %s", name)
}

// endpoints is every operation of the API.
func (e *accessEnv) endpoints() []apiEndpoint {
	return []apiEndpoint{
		{"ListJobs", http.MethodGet, "/api/v1/jobs", nil, false, http.StatusOK},
		{"StartRun", http.MethodPost, "/api/v1/jobs/active/runs", func(*testing.T) any { return map[string]bool{"dry_run": true} }, false, http.StatusAccepted},
		{"GetRun", http.MethodGet, "/api/v1/runs/" + e.runID, nil, false, http.StatusOK},
		{"ListRunItems", http.MethodGet, "/api/v1/runs/" + e.runID + "/items?outcome=created", nil, false, http.StatusOK},
		{"GetUser", http.MethodGet, "/api/v1/users/ann", nil, false, http.StatusOK},
		{"GetSchedule", http.MethodGet, "/api/v1/jobs/active/schedule", nil, true, http.StatusOK},
		{"PutSchedule", http.MethodPut, "/api/v1/jobs/active/schedule", e.scheduleBody, true, http.StatusOK},
		{"GetLDAP", http.MethodGet, "/api/v1/ldap", nil, true, http.StatusOK},
		{"PutLDAP", http.MethodPut, "/api/v1/ldap", e.ldapBody, true, http.StatusOK},
	}
}

// scheduleBody is a valid change of the active job's schedule at its
// current version.
func (e *accessEnv) scheduleBody(t *testing.T) any {
	return map[string]any{"expression": "15 3 * * *", "enabled": false, "version": e.job(domain.JobActive).Version}
}

// ldapBody is the stored LDAP connection, sent back as it is.
func (e *accessEnv) ldapBody(t *testing.T) any {
	var body map[string]any
	e.apiGet(t, "/api/v1/ldap", e.tokens["Administrator"]).json(t, &body)
	for _, readOnly := range []string{"bind_password_set", "allow_next_past_threshold", "updated_at", "updated_by"} {
		delete(body, readOnly)
	}
	return body
}

// TestAPIAccess: every endpoint × every kind of token. Without a live token
// it is 401 with WWW-Authenticate (and changes nothing); an operator's token
// is refused (403) on administrators' endpoints; otherwise it succeeds.
func TestAPIAccess(t *testing.T) {
	e := newAccessEnv(t)
	jobVersion, ldapVersion := e.job(domain.JobActive).Version, e.ldapVersion(t)
	cells := 0
	for _, ep := range e.endpoints() {
		for _, kind := range []string{"NoToken", "Expired", "Revoked", "Disabled", "Operator", "Administrator"} {
			cells++
			t.Run(ep.name+"/"+kind, func(t *testing.T) { e.checkCell(t, ep, kind) })
		}
	}
	t.Logf("%d cells", cells)
	e.expectEveryOperation(t)
	if v := e.job(domain.JobActive).Version; v != jobVersion+1 {
		t.Errorf("schedule version %d, want %d: only the administrator's PUT may save", v, jobVersion+1)
	}
	if v := e.ldapVersion(t); v != ldapVersion+1 {
		t.Errorf("LDAP version %d, want %d: only the administrator's PUT may save", v, ldapVersion+1)
	}
	e.expectAuditBy(t, domain.AuditScheduleSave, "token:administrator (account adam)")
	e.expectAuditBy(t, domain.AuditLDAPSave, "token:administrator (account adam)")
	e.expectAuditBy(t, domain.AuditJobRun, "token:operator (account olga)")
}

func (e *accessEnv) checkCell(t *testing.T, ep apiEndpoint, kind string) {
	req := apiRequest{method: ep.method, path: ep.path, token: e.tokens[kind]}
	if ep.body != nil {
		req.body = ep.body(t)
	}
	a := e.api(t, req)
	want, msg := ep.ok, ""
	switch {
	case kind == "NoToken":
		want, msg = http.StatusUnauthorized, "needs an API token"
	case kind == "Expired":
		want, msg = http.StatusUnauthorized, "expired"
	case kind == "Revoked", kind == "Disabled":
		want, msg = http.StatusUnauthorized, "revoked"
	case kind == "Operator" && ep.adminOnly:
		want, msg = http.StatusForbidden, "for administrators"
	}
	if a.status != want {
		t.Fatalf("%s %s with %s: %d %s, want %d", ep.method, ep.path, kind, a.status, a.body, want)
	}
	if msg != "" && !strings.Contains(a.problem(t).Error.Message, msg) {
		t.Errorf("message %q, want %q", a.problem(t).Error.Message, msg)
	}
	if want == http.StatusUnauthorized && a.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	if ep.name == "StartRun" && want == http.StatusAccepted {
		var run apiRun
		a.json(t, &run)
		e.pollRun(t, run.ID, e.tokens["Administrator"]) // the next start would find it running
	}
}

func (e *testEnv) ldapVersion(t *testing.T) int {
	t.Helper()
	s, err := e.db.LDAPSettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.Version
}

// expectEveryOperation: the endpoints above are every operation the
// OpenAPI document lists, so that a new one cannot go untested.
func (e *accessEnv) expectEveryOperation(t *testing.T) {
	doc, _ := e.openAPIDoc(t)
	tested := map[string]bool{}
	for _, ep := range e.endpoints() {
		path, _, _ := strings.Cut(strings.TrimPrefix(ep.path, "/api/v1"), "?")
		tested[ep.method+" "+path] = true
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			route := method + " " + path
			found := false
			for k := range tested {
				if routeMatches(route, k) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s is in the OpenAPI document but not in the access test", route)
			}
		}
	}
}

// routeMatches reports whether request (METHOD /path) is of route (METHOD
// /path/{param}).
func routeMatches(route, request string) bool {
	a, b := strings.Split(route, "/"), strings.Split(request, "/")
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !strings.HasPrefix(a[i], "{") {
			return false
		}
	}
	return true
}
