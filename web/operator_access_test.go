package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"idm/internal/domain"
)

// TestOperatorAccess: every Operator page answers for an operator and an
// administrator; an operator reaches no Admin page or action.
func TestOperatorAccess(t *testing.T) {
	e := newEnv(t, envOptions{accounts: opAccounts})
	run := e.finishedRun(t, domain.JobActive, domain.RunSucceeded)
	ann := e.importedUser(t, "ann")
	pages := []string{
		"/operator/", "/operator/jobs", "/operator/jobs/active/status", "/operator/jobs/active/runs",
		"/operator/runs/" + run.ID, "/operator/runs/" + run.ID + "/items.csv", "/operator/users", "/operator/users?q=an&state=active",
		"/operator/users/" + ann.ID,
	}
	for _, name := range []string{"olga", "adam"} {
		c := e.signIn(t, name)
		for _, p := range pages {
			t.Run(name+"OK"+p, func(t *testing.T) {
				if res, body := c.get(t, p); res.StatusCode != http.StatusOK {
					t.Errorf("GET %s as %s: %d\n%s", p, name, res.StatusCode, body)
				}
			})
		}
	}
	olga := e.signIn(t, "olga")
	for _, p := range []string{"/admin", "/admin/", "/admin/batch-sync", "/admin/batch-sync/active", "/admin/ldap", "/admin/accounts", "/admin/audit"} {
		t.Run("OperatorForbidden"+p, func(t *testing.T) {
			if res, _ := olga.get(t, p); res.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s as an operator: %d, want 403", p, res.StatusCode)
			}
		})
	}
	for _, p := range []string{"/admin/accounts", "/admin/batch-sync/active", "/admin/ldap"} {
		t.Run("OperatorActionForbidden"+p, func(t *testing.T) {
			res := olga.post(t, p, url.Values{"name": {"mallory"}, "role": {"administrator"}, "expression": {"* * * * *"}}, nil)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s as an operator: %d, want 403", p, res.StatusCode)
			}
		})
	}
	t.Run("SignedOutGoesToLogin", func(t *testing.T) {
		res, _ := e.newClient(t).get(t, "/operator/jobs")
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("GET /operator/jobs signed out: %d, want 303 to the login page", res.StatusCode)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		for p, want := range map[string]int{
			"/operator/runs/nosuch":                             http.StatusNotFound,
			"/operator/runs/" + run.ID + "?outcome=x":           http.StatusUnprocessableEntity,
			"/operator/users/nosuch":                            http.StatusNotFound,
			"/operator/users?state=gone":                        http.StatusUnprocessableEntity,
			"/operator/jobs/nosuch/runs":                        http.StatusNotFound,
			"/operator/jobs/nosuch/status":                      http.StatusNotFound,
			"/operator/runs/" + run.ID + "/items.csv?outcome=x": http.StatusUnprocessableEntity,
		} {
			if res, _ := olga.get(t, p); res.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", p, res.StatusCode, want)
			}
		}
	})
}
