package web_test

import (
	"net/http"
	"strings"
	"testing"

	"idm/internal/testenv"
)

// TestLDAPTestConnectionFilters: Test connection shows each filter's count,
// and warns about a filter that matches nothing while every step passes.
func TestLDAPTestConnectionFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sl := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"))
	f := ldapForm(sl.URL, 0)
	f.Set("bind_dn", sl.AdminDN)
	f.Set("base_dn", sl.BaseDN)
	f.Set("bind_password", sl.AdminPassword)
	f.Set("inactive_filter", "(&(objectClass=inetOrgPerson)(pwdAccountLockTime=*))") // misspelt
	res := e.do(http.MethodPost, "/admin/ldap/test", f, true)
	if res.Code != http.StatusOK {
		t.Fatalf("status %d: %s", res.Code, res.Body)
	}
	doc := parseHTML(t, res)
	if doc.Find(`[data-testid="test-ok"]`).Length() != 1 {
		t.Fatalf("the test failed: %s", testid(doc, "ldap-test-result"))
	}
	counts := doc.Find(`[data-testid="test-filters"] [data-testid="filter-count"]`)
	if counts.Length() != 2 || counts.Eq(0).Text() != "7" || counts.Eq(1).Text() != "0" {
		t.Errorf("filter counts %q, want 7 and 0", testid(doc, "test-filters"))
	}
	want := "Inactive filter: no entry matches, and the directory's schema has no attribute pwdAccountLockTime"
	if w := testid(doc, "filter-warning"); !strings.HasPrefix(w, want) {
		t.Errorf("warning %q, want %q", w, want)
	}
	if doc.Find(`[data-testid="referrals-note"]`).Length() != 0 {
		t.Error("a note about referrals that OpenLDAP did not return")
	}
}
