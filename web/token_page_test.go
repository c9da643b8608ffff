package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/testenv"
)

// TestTokenPages: Home > API tokens makes a token and shows it once, lists
// it without it, asks before revoking it; the token works on the API until
// then. The token appears in no log line (debug ones included), no other
// page and no API answer.
func TestTokenPages(t *testing.T) {
	logs := &testenv.SyncBuffer{}
	e := newEnv(t, envOptions{accounts: append(opAccounts, account{testAdmin, domain.RoleAdministrator}), logs: logs})
	if !strings.Contains(testid(e.get("/admin"), "tile-tokens"), "API tokens") {
		t.Fatal("Admin Home has no API tokens tile")
	}
	res := e.do(http.MethodPost, "/admin/tokens", tokenForm("olga", "report", "30d"), false)
	if res.Code != http.StatusOK {
		t.Fatalf("create: %d %s", res.Code, res.Body)
	}
	doc := parseHTML(t, res)
	token, _ := doc.Find(`[data-testid="new-token"]`).Attr("value")
	if !strings.HasPrefix(token, "idm_") || !strings.Contains(res.Body.String(), "not shown again") {
		t.Fatalf("the created page shows no token: %s", res.Body)
	}
	var seen []string // every page and answer after the one that showed it
	list := e.do(http.MethodGet, "/admin/tokens", nil, false)
	seen = append(seen, list.Body.String())
	row := testid(parseHTML(t, list), "token-report-olga")
	if !strings.Contains(row, "operator") || !strings.Contains(row, "active") {
		t.Fatalf("list row %q", row)
	}
	for _, p := range []string{"/api/v1/jobs", "/api/v1/jobs/active/schedule", "/api/v1/nope", "/api/v1/runs/x"} {
		seen = append(seen, string(e.apiGet(t, p, token).body))
	}
	if a := e.apiGet(t, "/api/v1/jobs", token); a.status != http.StatusOK {
		t.Fatalf("the new token on the API: %d %s", a.status, a.body)
	}
	id := tokenID(t, e, "report")
	confirm := e.get("/admin/tokens/" + id + "/revoke")
	if !strings.Contains(confirm.Find("h1").Text(), "Revoke report?") {
		t.Fatalf("confirmation page: %s", confirm.Text())
	}
	if res := e.do(http.MethodPost, "/admin/tokens/"+id+"/revoke", nil, false); res.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", res.Code, res.Body)
	}
	after := e.do(http.MethodGet, "/admin/tokens", nil, false).Body.String()
	seen = append(seen, after, e.do(http.MethodGet, "/admin/audit", nil, false).Body.String())
	if !strings.Contains(after, "revoked: programs using it are refused") || !strings.Contains(testid(parseHTML(t, e.do(http.MethodGet, "/admin/tokens", nil, false)), "token-report-olga"), "revoked") {
		t.Fatalf("after revoke: %s", after)
	}
	a := e.apiGet(t, "/api/v1/jobs", token)
	seen = append(seen, string(a.body))
	if a.status != http.StatusUnauthorized {
		t.Fatalf("revoked token on the API: %d", a.status)
	}
	e.expectAuditBy(t, domain.AuditTokenCreate, testAdmin)
	e.expectAuditBy(t, domain.AuditTokenRevoke, testAdmin)
	for i, s := range append(seen, logs.String()) {
		if strings.Contains(s, token) || strings.Contains(s, token[4:]) {
			t.Errorf("the token is in output %d (the last is the log):\n%s", i, s)
		}
	}
	if !strings.Contains(logs.String(), "api token created") {
		t.Error("the log capture caught nothing: the test would not see a token in it")
	}
}

func tokenID(t *testing.T, e *testEnv, name string) string {
	t.Helper()
	list, err := e.db.ListTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.Name == name {
			return tok.ID
		}
	}
	t.Fatalf("no token %s", name)
	return ""
}

// tokenForm is the form that makes an API token.
func tokenForm(account, name, expires string) url.Values {
	return url.Values{"account": {account}, "name": {name}, "expires": {expires}}
}

// TestTokenPageRefuses: the form shows the domain's message at the field
// and makes nothing; an operator reaches no token page; a revoked token
// cannot be revoked again.
func TestTokenPageRefuses(t *testing.T) {
	e := newEnv(t, envOptions{accounts: append(opAccounts, account{testAdmin, domain.RoleAdministrator})})
	tests := []struct {
		name       string
		form       url.Values
		field, msg string
	}{
		{"ErrNoName", tokenForm("olga", "", "90d"), "name", "Give the token a name"},
		{"ErrBadName", tokenForm("olga", "my token", "90d"), "name", "letters, digits"},
		{"ErrNever", tokenForm("olga", "x", "never"), "expires", "Every token expires"},
		{"ErrTooLong", tokenForm("olga", "x", "2y"), "expires", "at most 1 year"},
		{"ErrNoAccount", tokenForm("nobody", "x", "90d"), "account", "There is no account named nobody"},
		{"ErrNUL", tokenForm("olga", "x\x00", "90d"), "name", "letters, digits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(http.MethodPost, "/admin/tokens", tc.form, false)
			if res.Code != http.StatusUnprocessableEntity || !strings.Contains(res.Body.String(), tc.msg) {
				t.Fatalf("%d, want 422 with %q:\n%s", res.Code, tc.msg, res.Body)
			}
			if at := testid(parseHTML(t, res), "error-"+tc.field); !strings.Contains(at, tc.msg) {
				t.Errorf("message at %s: %q, want %q", tc.field, at, tc.msg)
			}
		})
	}
	if list, _ := e.db.ListTokens(t.Context()); len(list) != 0 {
		t.Fatalf("refused forms made %d tokens", len(list))
	}
	olga := e.signIn(t, "olga")
	if res, _ := olga.get(t, "/admin/tokens"); res.StatusCode != http.StatusForbidden {
		t.Errorf("operator on the token page: %d", res.StatusCode)
	}
	for path, want := range map[string]int{"/admin/tokens/nosuch/revoke": 404, "/admin/tokens/%00/revoke": 404} {
		if res := e.do(http.MethodGet, path, nil, false); res.Code != want {
			t.Errorf("GET %s: %d, want %d", path, res.Code, want)
		}
	}
	e.apiToken(t, "olga", "twice", "")
	id := tokenID(t, e, "twice")
	e.revoke(t, "twice")
	if res := e.do(http.MethodPost, "/admin/tokens/"+id+"/revoke", nil, false); res.Code != http.StatusConflict {
		t.Errorf("revoking a revoked token: %d, want 409", res.Code)
	}
}
