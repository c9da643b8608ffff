package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/testenv"
)

func TestClearCache(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := newEnv(t, envOptions{dbURL: dbURL, accounts: opAccounts})
		olga := e.signIn(t, "olga")

		_, body := olga.get(t, "/operator/jobs")
		if !strings.Contains(between(body, `data-testid="job-active"`, "</article>"), ">0 2 * * *<") {
			t.Fatalf("the jobs page does not show the seeded expression:\n%s", body)
		}
		if strings.Contains(body, `data-testid="cache-stale"`) {
			t.Fatal("stale notice before any change")
		}

		// An administrator saves a new expression after the cache was
		// loaded, on the Admin page: the save tells the cache at once.
		adam := e.signIn(t, "adam")
		if res := adam.post(t, "/admin/batch-sync/active", saveForm("15 4 * * *", true, 1), nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d", res.StatusCode)
		}

		t.Run("StaleNoticeAndOldExpression", func(t *testing.T) { staleNoticeAndOldExpression(t, olga) })

		t.Run("ClearGoesBackToTheOperatorPage", func(t *testing.T) {
			res := olga.post(t, "/operator/cache/clear", nil, http.Header{"Referer": {e.srv.URL + "/operator/users?q=ann"}})
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operator/users?q=ann" {
				t.Fatalf("Clear cache: %d → %q, want 303 back to /operator/users?q=ann", res.StatusCode, res.Header.Get("Location"))
			}
			_, body := olga.get(t, "/operator/jobs")
			if strings.Contains(body, `data-testid="cache-stale"`) {
				t.Error("stale notice after Clear cache")
			}
			if !strings.Contains(body, "Cache cleared: job definitions and settings reloaded.") {
				t.Error("no flash after Clear cache")
			}
			card := between(body, `data-testid="job-active"`, "</article>")
			if !strings.Contains(card, ">15 4 * * *<") || !strings.Contains(card, `data-status="scheduled"`) {
				t.Errorf("after Clear cache the card should show the new expression, scheduled:\n%s", card)
			}
			if strings.Contains(between(card, `data-testid="job-next-run"`, "</dd>"), "none") {
				t.Errorf("no next execution for the enabled job:\n%s", card)
			}
			events, _, err := e.db.ListAudit(ctx, 0, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) == 0 || events[0].Action != domain.AuditCacheClear || events[0].Actor != "olga" {
				t.Errorf("newest audit event %+v, want cache.clear by olga", events)
			}
		})

		for _, tc := range []struct{ name, referer, want string }{
			{"NoRefererToJobs", "", "/operator/jobs"},
			{"OtherSiteToJobs", "https://evil.example/operator/users", "/operator/jobs"},
			{"AdminPageToJobs", e.srv.URL + "/admin/batch-sync", "/operator/jobs"},
			{"LookalikePathToJobs", e.srv.URL + "/operatorx", "/operator/jobs"},
			{"RunPageBack", e.srv.URL + "/operator/runs/abc", "/operator/runs/abc"},
			// What domain.SafeRedirectPath refuses is refused here too.
			{"DotSegmentsToJobs", e.srv.URL + "/operator/../admin/ldap", "/operator/jobs"},
			{"DoubleSlashToJobs", e.srv.URL + "/operator//evil.example", "/operator/jobs"},
			{"EscapedSlashToJobs", e.srv.URL + "/operator/%2F%2Fevil.example", "/operator/jobs"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := http.Header{}
				if tc.referer != "" {
					h.Set("Referer", tc.referer)
				}
				res := olga.post(t, "/operator/cache/clear", nil, h)
				if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != tc.want {
					t.Errorf("Clear cache from %q: %d → %q, want %q", tc.referer, res.StatusCode, res.Header.Get("Location"), tc.want)
				}
			})
		}
	})
}

func staleNoticeAndOldExpression(t *testing.T, olga *client) {
	_, body := olga.get(t, "/operator/jobs")
	if !strings.Contains(body, `data-testid="cache-stale"`) {
		t.Error("no stale notice after an administrator saved")
	}
	card := between(body, `data-testid="job-active"`, "</article>")
	if !strings.Contains(card, ">0 2 * * *<") || strings.Contains(card, "15 4 * * *") {
		t.Errorf("the card should still show the cached expression:\n%s", card)
	}
	if !strings.Contains(card, `data-status="disabled"`) {
		t.Errorf("the card should still show the job as disabled (as cached):\n%s", card)
	}
}
