package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"idm/internal/domain"
)

// TestAccountsRowActions: from an account's row an administrator changes
// its role, sets its password, and disables it after a confirm step; every
// refusal says nothing was saved, and its messages start with a capital.
func TestAccountsRowActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.db.CreateAccount(ctx, "bob", domain.RoleOperator, "x", "test"); err != nil {
		t.Fatal(err)
	}
	bob := func() *domain.Account {
		a, err := e.db.AccountByName(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Run("ChangeRole", func(t *testing.T) { wantRoleChange(t, e, bob) })
	t.Run("DisableAsksFirst", func(t *testing.T) {
		doc := e.get("/admin/accounts")
		if href, _ := doc.Find(`[data-testid="account-bob"] [data-testid="disable"]`).Attr("href"); href != "/admin/accounts/bob/disable" {
			t.Fatalf("Disable links to %q, want the confirm step", href)
		}
		page := e.get("/admin/accounts/bob/disable")
		if got := testid(page, "disable-consequence"); !strings.HasPrefix(got, "bob (administrator) is signed out at once") {
			t.Errorf("the confirm step says %q", got)
		}
		if bob().Disabled {
			t.Fatal("asking disabled bob")
		}
		if res := e.do(http.MethodPost, "/admin/accounts/bob/disabled", url.Values{"disabled": {"true"}}, false); res.Code != http.StatusSeeOther || !bob().Disabled {
			t.Fatalf("confirming: %d, disabled %v", res.Code, bob().Disabled)
		}
		if res := e.do(http.MethodGet, "/admin/accounts/"+testAdmin+"/disable", nil, false); res.Code != http.StatusUnprocessableEntity {
			t.Errorf("the confirm step for one's own account: %d, want 422", res.Code)
		}
	})
	t.Run("PasswordFromTheRow", func(t *testing.T) {
		doc := e.get("/admin/accounts")
		if v, _ := doc.Find(`[data-testid="account-bob"] [data-testid="account-password"] input[name="name"]`).Attr("value"); v != "bob" {
			t.Fatalf("bob's row sets the password of %q", v)
		}
		res := e.do(http.MethodPost, "/admin/accounts/password", url.Values{"name": {"bob"}, "password": {"short"}, "password2": {"short"}}, false)
		doc = parseHTML(t, res)
		row := doc.Find(`[data-testid="account-bob"] [data-testid="set-password"]`)
		_, open := row.Attr("open")
		msg := strings.TrimSpace(row.Find(`[data-testid="error-pw_password"]`).Text())
		if res.Code != http.StatusUnprocessableEntity || !open || !startsWithCapital(msg) || testid(doc, "form-errors") != "Nothing was saved: correct the fields marked below." {
			t.Errorf("status %d, bob's form open %v, message %q, summary %q", res.Code, open, msg, testid(doc, "form-errors"))
		}
	})
	t.Run("CreateRefusedWithCapitals", func(t *testing.T) {
		res := e.do(http.MethodPost, "/admin/accounts", url.Values{"name": {"no spaces"}, "role": {"operator"}, "password": {"short"}, "password2": {"other"}}, false)
		doc := parseHTML(t, res)
		for _, f := range []string{"name", "password"} {
			if msg := testid(doc, "error-"+f); !startsWithCapital(msg) {
				t.Errorf("%s: %q, want it to start with a capital", f, msg)
			}
		}
		if testid(doc, "form-errors") == "" {
			t.Error("no summary that nothing was saved")
		}
	})
}

// wantRoleChange: bob becomes an administrator, audited once; the same
// role again changes and audits nothing; one's own role is not changed.
func wantRoleChange(t *testing.T, e *testEnv, bob func() *domain.Account) {
	t.Helper()
	audits := func() int {
		n := 0
		for _, ev := range e.audit() {
			if ev.Action == domain.AuditAccountRole {
				n++
			}
		}
		return n
	}
	for range 2 {
		if res := e.do(http.MethodPost, "/admin/accounts/bob/role", url.Values{"role": {"administrator"}}, false); res.Code != http.StatusSeeOther {
			t.Fatalf("change role: %d", res.Code)
		}
	}
	if bob().Role != domain.RoleAdministrator || audits() != 1 {
		t.Errorf("bob is %s with %d role audits, want administrator and 1", bob().Role, audits())
	}
	if ev := e.audit()[0]; ev.Target != "bob" || ev.Detail != "role operator → administrator" {
		t.Errorf("audited %s of %s: %q", ev.Action, ev.Target, ev.Detail)
	}
	res := e.do(http.MethodPost, "/admin/accounts/"+testAdmin+"/role", url.Values{"role": {"operator"}}, false)
	if msg := testid(parseHTML(t, res), "error-message"); res.Code != http.StatusUnprocessableEntity || !strings.HasPrefix(msg, "You cannot change your own role") {
		t.Errorf("own role: %d %q", res.Code, msg)
	}
	res = e.do(http.MethodPost, "/admin/accounts/bob/role", url.Values{"role": {"root"}}, false)
	if res.Code != http.StatusUnprocessableEntity || bob().Role != domain.RoleAdministrator {
		t.Errorf("unknown role: %d, bob %s", res.Code, bob().Role)
	}
}

func startsWithCapital(s string) bool {
	for _, r := range s {
		return unicode.IsUpper(r)
	}
	return false
}
