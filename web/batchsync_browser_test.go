package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"idm/internal/domain"
	"idm/internal/testenv"
)

// TestBatchSyncInBrowser follows the seeds' steps in Chromium, with the real
// scheduler running the real engine against slapd: an administrator
// configures and tests the LDAP connection, then schedules the inactive job
// every two seconds, sees it run, and disables it again.
func TestBatchSyncInBrowser(t *testing.T) {
	t.Parallel()
	sl := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"))
	e := newEnv(t, envOptions{scheduledRuns: true})
	srv := e.srv
	browser := testenv.Browser(t)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.Join(strings.Fields(s), " ")
	}
	typeExpression := func(expr string) {
		t.Helper()
		// Emptied by script (chromedp's SetValue refuses ""), then typed key
		// by key so that htmx sees the keyups.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('[data-testid="expression"]').value = "", true)`)); err != nil {
			t.Fatalf("empty the expression: %v", err)
		}
		// Wait for the check of the whole expression, not of what was typed
		// before a pause.
		run("type "+expr, chromedp.SendKeys(chromedp.CSS(`[data-testid="expression"]`), expr),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="expression-check"][data-expression="`+expr+`"]`)))
	}

	run("sign in",
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), testAdmin),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Click(chromedp.CSS(`[data-testid=sign-in]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tile-ldap"]`)))

	// Home > LDAP connection: the test directory, tested, then saved.
	run("open LDAP connection",
		chromedp.Click(chromedp.CSS(`[data-testid="tile-ldap"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ldap-form"]`)),
		chromedp.SetValue(chromedp.CSS(`#url`), sl.URL),
		chromedp.SetValue(chromedp.CSS(`#bind_dn`), sl.AdminDN),
		chromedp.SendKeys(chromedp.CSS(`#bind_password`), sl.AdminPassword),
		chromedp.SetValue(chromedp.CSS(`#base_dn`), sl.BaseDN),
		// Nobody is in Identity Manager yet: let the inactive job deactivate.
		chromedp.SetValue(chromedp.CSS(`#deactivate_max_percent`), "100"),
		chromedp.Click(chromedp.CSS(`[data-testid="ldap-test"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="inactive-count"]`)))
	if a, i := text(`[data-testid="active-count"]`), text(`[data-testid="inactive-count"]`); a != "7" || i != "3" {
		t.Fatalf("Test connection found %s active and %s inactive, want 7 and 3", a, i)
	}
	run("save LDAP connection",
		chromedp.Click(chromedp.CSS(`[data-testid="ldap-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)))
	if s := e.ldapSettings(); s.URL != sl.URL || s.BindPasswordEnc == "" {
		t.Fatalf("LDAP settings not saved: url %q, password set %v", s.URL, s.BindPasswordEnc != "")
	}

	// Home > Batch Synchronization > the inactive job.
	run("open the inactive job",
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.Click(chromedp.CSS(`[data-testid="tile-batch-sync"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="batch-jobs"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="job-link-inactive"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="schedule-form"]`)))
	if got := text(`[data-testid="symbolic-name"]`); got != "UsersAddonLDAPBatchSyncSynchronizeActiveLDAPUsersToIDMUsers" {
		t.Errorf("symbolic name %q", got)
	}

	typeExpression("0 0 30 2 *")
	run("see the reason", chromedp.WaitVisible(chromedp.CSS(`[data-testid="check-reason"]`)))
	if got := text(`[data-testid="check-reason"]`); !strings.Contains(got, "February has no 30th day") {
		t.Errorf("reason %q", got)
	}

	typeExpression("*/2 * * * * *")
	run("see it valid", chromedp.WaitVisible(chromedp.CSS(`[data-testid="check-next"]`)))
	if got := text(`[data-testid="check-description"]`); got == "" {
		t.Error("no description")
	}
	saved := time.Now()
	run("enable and save",
		chromedp.Click(chromedp.CSS(`[data-testid="enabled"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)))
	if got := text(`[data-testid="flash"]`); got != "Saved. To see this update in Identity Manager Operator, click Clear cache in the Operator UI." {
		t.Errorf("flash %q", got)
	}
	if got := text(`[data-testid="next-run"]`); got == "not scheduled" || got == "" {
		t.Errorf("next run %q right after the save", got)
	}

	// A scheduled run shows up in the run records within 10 seconds.
	ctxDB := context.Background()
	scheduledRuns := func() int {
		t.Helper()
		runs, _, err := e.db.ListRuns(ctxDB, domain.JobInactive, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range runs {
			if r.Trigger == domain.TriggerSchedule {
				n++
			}
		}
		return n
	}
	for scheduledRuns() == 0 {
		if time.Since(saved) > 10*time.Second {
			t.Fatal("no scheduled run within 10 seconds of saving")
		}
		time.Sleep(200 * time.Millisecond)
	}
	runs, _, err := e.db.ListRuns(ctxDB, domain.JobInactive, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first scheduled run after %v: %s, %s", time.Since(saved).Round(time.Millisecond), runs[0].Status.Label(), runs[0].Message)

	// Disabling stops further runs. The page still shows the first save's
	// flash: wait for the page that says the job is disabled.
	run("disable and save",
		chromedp.Click(chromedp.CSS(`[data-testid="enabled"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="save"]`)))
	for deadline := time.Now().Add(10 * time.Second); ; {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('[data-testid="stored-enabled"]') || {}).textContent || ""`))
		if err == nil && strings.TrimSpace(v) == "no" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page does not show the job disabled after saving: %q, %v", v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := text(`[data-testid="flash"]`); !strings.HasPrefix(got, "Saved.") {
		t.Errorf("flash %q after disabling", got)
	}
	if got := text(`[data-testid="next-run"]`); got != "not scheduled" {
		t.Errorf("next run %q after disabling", got)
	}
	if e.job(domain.JobInactive).Enabled {
		t.Fatal("still enabled in the database")
	}
	// A run that started just before the save may still be recorded.
	time.Sleep(time.Second)
	before := scheduledRuns()
	time.Sleep(4 * time.Second)
	if after := scheduledRuns(); after != before {
		t.Errorf("%d scheduled runs started after the job was disabled", after-before)
	}
}
