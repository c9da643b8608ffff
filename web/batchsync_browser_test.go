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
	b := newBrowserTab(t, e)
	b.run("sign in",
		chromedp.Navigate(b.base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), testAdmin),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Click(chromedp.CSS(`[data-testid=sign-in]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tile-ldap"]`)))
	configureLDAPInBrowser(b, e, sl)
	saved := scheduleEveryTwoSeconds(b)
	waitForScheduledRun(t, e, saved)
	disableStopsRuns(b, e)
}

// configureLDAPInBrowser: Home > LDAP connection: the test directory,
// tested, then saved.
func configureLDAPInBrowser(b *browserTab, e *testEnv, sl *testenv.Slapd) {
	t := b.t
	t.Helper()
	b.run("open LDAP connection",
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
	if a, i := b.text(`[data-testid="active-count"]`), b.text(`[data-testid="inactive-count"]`); a != "7" || i != "3" {
		t.Fatalf("Test connection found %s active and %s inactive, want 7 and 3", a, i)
	}
	b.run("save LDAP connection",
		chromedp.Click(chromedp.CSS(`[data-testid="ldap-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)))
	if s := e.ldapSettings(); s.URL != sl.URL || s.BindPasswordEnc == "" {
		t.Fatalf("LDAP settings not saved: url %q, password set %v", s.URL, s.BindPasswordEnc != "")
	}
}

// scheduleEveryTwoSeconds: Home > Batch Synchronization > the inactive
// job, an impossible expression refused, then one every two seconds
// enabled and saved; it returns when it was saved.
func scheduleEveryTwoSeconds(b *browserTab) time.Time {
	t, run, text := b.t, b.run, b.text
	t.Helper()
	run("open the inactive job",
		chromedp.Navigate(b.base+"/admin"),
		chromedp.Click(chromedp.CSS(`[data-testid="tile-batch-sync"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="batch-jobs"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="job-link-inactive"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="schedule-form"]`)))
	if got := text(`[data-testid="symbolic-name"]`); got != "UsersAddonLDAPBatchSyncSynchronizeActiveLDAPUsersToIDMUsers" {
		t.Errorf("symbolic name %q", got)
	}

	b.typeExpression("0 0 30 2 *")
	run("see the reason", chromedp.WaitVisible(chromedp.CSS(`[data-testid="check-reason"]`)))
	if got := text(`[data-testid="check-reason"]`); !strings.Contains(got, "February has no 30th day") {
		t.Errorf("reason %q", got)
	}

	b.typeExpression("*/2 * * * * *")
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
	return saved
}

// typeExpression types expr into the schedule form and waits for its check.
func (b *browserTab) typeExpression(expr string) {
	b.t.Helper()
	// Emptied by script (chromedp's SetValue refuses ""), then typed key
	// by key so that htmx sees the keyups.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(document.querySelector('[data-testid="expression"]').value = "", true)`)); err != nil {
		b.t.Fatalf("empty the expression: %v", err)
	}
	// Wait for the check of the whole expression, not of what was typed
	// before a pause.
	b.run("type "+expr, chromedp.SendKeys(chromedp.CSS(`[data-testid="expression"]`), expr),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="expression-check"][data-expression="`+expr+`"]`)))
}

// scheduledRuns counts the inactive job's runs that the scheduler started.
func scheduledRuns(t *testing.T, e *testEnv) int {
	t.Helper()
	runs, _, err := e.db.ListRuns(context.Background(), domain.JobInactive, 0, 1000)
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

// waitForScheduledRun: a scheduled run shows up in the run records within
// 10 seconds of the save.
func waitForScheduledRun(t *testing.T, e *testEnv, saved time.Time) {
	t.Helper()
	for scheduledRuns(t, e) == 0 {
		if time.Since(saved) > 10*time.Second {
			t.Fatal("no scheduled run within 10 seconds of saving")
		}
		time.Sleep(200 * time.Millisecond)
	}
	runs, _, err := e.db.ListRuns(context.Background(), domain.JobInactive, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first scheduled run after %v: %s, %s", time.Since(saved).Round(time.Millisecond), runs[0].Status.Label(), runs[0].Message)
}

// disableStopsRuns: disabling stops further runs. The page still shows the
// first save's flash: wait for the page that says the job is disabled.
func disableStopsRuns(b *browserTab, e *testEnv) {
	t, text := b.t, b.text
	t.Helper()
	b.run("disable and save",
		chromedp.Click(chromedp.CSS(`[data-testid="enabled"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="save"]`)))
	for deadline := time.Now().Add(10 * time.Second); ; {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector('[data-testid="stored-enabled"]') || {}).textContent || ""`))
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
	before := scheduledRuns(t, e)
	time.Sleep(4 * time.Second)
	if after := scheduledRuns(t, e); after != before {
		t.Errorf("%d scheduled runs started after the job was disabled", after-before)
	}
}
