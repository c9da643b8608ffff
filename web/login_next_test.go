package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// hostileNext are pages to return to after sign-in that a browser would
// take to another host (or that are not ours to return to), one or two of
// each kind; internal/domain's table holds the full list.
var hostileNext = []string{
	"//evil.example/", "https://evil.example/", "javascript:alert(1)",
	`/\evil.example`, `/\/evil.example/`,
	"/\t/evil.example/", "/\r/evil.example/", "/\n/evil.example/", " //evil.example/",
	"/%2F%2Fevil.example/", "/%2f/evil.example/", "/%5Cevil.example/",
	"/\uff0f/evil.example/",
	"/admin/../../evil.example",
}

// postedNext are the hostile values also posted with the form: each
// sign-in costs a bcrypt comparison, and both paths share safeNext.
var postedNext = []string{"/\t/evil.example/", `/\/evil.example/`, "/%2F%2Fevil.example/", "//evil.example/", "/\uff0f/evil.example/"}

// Whatever next says, sign-in goes to a page of ours: a link opened with a
// live session and the posted form alike. (No database rule is involved:
// SQLite only.)
func TestLoginNextStaysOnSite(t *testing.T) {
	f := newEnv(t, envOptions{accounts: loginAccounts})
	signedIn := f.signIn(t, "admin")
	for _, next := range hostileNext {
		res, _ := signedIn.get(t, "/login?next="+url.QueryEscape(next))
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/admin" {
			t.Errorf("GET next=%q signed in: %d → %q, want 303 → /admin", next, res.StatusCode, loc)
		}
	}
	for _, next := range postedNext {
		res := f.newClient(t).post(t, "/login", url.Values{"username": {"admin"}, "password": {testPassword}, "next": {next}}, nil)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/admin" {
			t.Errorf("POST next=%q: %d → %q, want 303 → /admin", next, res.StatusCode, loc)
		}
	}
	t.Run("OwnPageKept", func(t *testing.T) {
		next := "/operator/users?q=ann&state=active"
		res := f.newClient(t).post(t, "/login", url.Values{"username": {"oper"}, "password": {testPassword}, "next": {next}}, nil)
		if loc := res.Header.Get("Location"); loc != next {
			t.Errorf("POST next=%q → %q", next, loc)
		}
		if res, _ := signedIn.get(t, "/login?next="+url.QueryEscape("/admin/accounts")); res.Header.Get("Location") != "/admin/accounts" {
			t.Errorf("GET next=/admin/accounts signed in → %q", res.Header.Get("Location"))
		}
	})
	t.Run("RefusedNextNotCarried", func(t *testing.T) {
		_, body := f.newClient(t).get(t, "/login?next="+url.QueryEscape("/\t/evil.example/"))
		if strings.Contains(body, "evil.example") {
			t.Errorf("the login form carries a refused next:\n%s", body)
		}
	})
}
