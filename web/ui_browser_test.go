package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"idm/internal/testenv"
)

// lockedPeople is the LDIF of n people locked in the directory, user001 on.
func lockedPeople(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "dn: uid=user%03d,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: user%03d\n"+
			"cn: User %d\ngivenName: User\nsn: Number%d\nmail: user%03d@example.com\npwdAccountLockedTime: 000001010000Z\n\n", i, i, i, i, i)
	}
	return b.String()
}

// daily is the state TestDailyUseInBrowser builds up: the run that
// deactivated fifty people.
type daily struct {
	b      *browserTab
	e      *testEnv
	runURL string
}

// TestDailyUseInBrowser uses the pages as an operator and an administrator
// do, at 360, 1024 and 1280 px: a keyboard-only path from sign-in to Run
// now, the page of the run that deactivated fifty people, the refusal of an
// Admin page to an operator, the Audit filters, and on every page the header
// fit, the text's punctuation and axe-core.
func TestDailyUseInBrowser(t *testing.T) {
	t.Parallel()
	const people = 50
	sl := testenv.StartSlapd(t, lockedPeople(people))
	e := newEnv(t, envOptions{accounts: opAccounts})
	e.configureLDAP(t, sl.URL, sl.AdminDN, sl.AdminPassword)
	for i := 1; i <= people; i++ {
		seedHolder(t, e.db, fmt.Sprintf("user%03d", i))
	}
	// Some forty pages, each checked at three widths: on a busy two-core
	// machine that takes two minutes.
	d := &daily{b: newBrowserTabFor(t, e, 4*time.Minute), e: e}
	d.keyboardToRunNow()
	d.runPage(people)
	d.operatorPages()
	d.refusal()
	d.b.signOut()
	d.b.signIn("adam")
	d.adminPages()
	d.schedulePaste()
	d.accountRow()
	d.auditFilters()
}

// keyboardToRunNow signs in and starts the inactive job with the keyboard
// alone, and waits for the run to end.
func (d *daily) keyboardToRunNow() {
	b, t := d.b, d.b.t
	b.setWidth(1280)
	b.open("/login")
	b.checkPage("sign-in", 1280)
	if f := b.focused(); f.TestID != "username" {
		t.Errorf("the sign-in page opens with the focus on %s %q, want the account field", f.Tag, f.TestID)
	}
	b.run("type the account", chromedp.KeyEvent("olga"))
	b.tabTo("password")
	b.run("type the password and Enter", chromedp.KeyEvent(testPassword), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=tile-jobs]`)))
	// The skip link comes first and moves the focus past the header.
	b.tabTo("skip-link")
	b.press(kb.Enter)
	b.waitFor("the focus in main", `document.activeElement === document.querySelector("main")`)
	b.tabTo("tile-jobs")
	b.run("open Batch jobs", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#job-inactive [data-testid=run-now]`)))
	b.tabTo("clear-cache") // the header's tools come before the sections
	b.tabTo("run-now")
	if got := evalJS[string](t, b.ctx, `document.activeElement.closest("article").id`); got != "job-active" {
		t.Fatalf("the first Run now is in %q, want job-active", got)
	}
	// The active job's Run now, its dry run box and history link, then the
	// inactive job's.
	for range 3 {
		b.press(kb.Tab)
	}
	if got := evalJS[string](t, b.ctx, `document.activeElement.closest("article").id + " " + document.activeElement.dataset.testid`); got != "job-inactive run-now" {
		t.Fatalf("the focus is on %q, want the inactive job's Run now", got)
	}
	b.press(kb.Enter)
	b.waitFor("the run's start", `document.querySelector("#job-inactive [data-testid=job-notice]") !== null`)
	if got := b.text(`#job-inactive [data-testid=job-notice]`); got != "Synchronize inactive LDAP Users to Identity Manager started." {
		t.Errorf("notice %q", got)
	}
	b.waitFor("the run's end", `document.querySelector("#job-inactive").dataset.status !== "running"`)
	d.runURL = evalJS[string](t, b.ctx, `document.querySelector('#job-inactive [data-testid=job-last-result] a').getAttribute('href')`)
}

// runPage: the run that deactivated fifty people is a summary and one row
// per person, within 6,000 px at 1280 px wide.
func (d *daily) runPage(people int) {
	b, t := d.b, d.b.t
	for _, w := range widths {
		b.setWidth(w)
		b.open(d.runURL)
		b.checkPage("run", w)
		h := evalJS[float64](t, b.ctx, `document.documentElement.scrollHeight`)
		t.Logf("the page of a run that deactivated %d people is %.0f px high at %d px", people, h, w)
		if w == 1280 && h > 6000 {
			t.Errorf("the run page is %.0f px high at 1280 px, want at most 6,000", h)
		}
	}
	if got := b.text(`[data-testid=count-deactivated]`); got != fmt.Sprintf("%d Deactivated", people) {
		t.Errorf("summary %q", got)
	}
	for id, want := range map[string]string{
		"credentials-Card":           fmt.Sprintf("Card %d inactive %d on hold", people, people),
		"credentials-Temporary card": fmt.Sprintf("Temporary card %d locked %d revoked", people, people),
	} {
		if got := b.text(`[data-testid="` + id + `"]`); got != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
	if n := evalJS[int](t, b.ctx, `document.querySelectorAll("[data-testid=run-items] > li").length`); n != people {
		t.Errorf("%d rows, want %d", n, people)
	}
	if got := b.text(`[data-testid=item-user001] [data-testid=item-summary]`); got != "inactive; 5 credentials, 5 certificates, 2 roles, 1 field" {
		t.Errorf("user001's row says %q", got)
	}
	b.run("open user001's changes", chromedp.Click(chromedp.CSS(`[data-testid=item-user001] summary`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=item-user001] [data-testid=item-changes]`)))
	if got := b.text(`[data-testid=item-user001] [data-testid=item-changes]`); !strings.Contains(got, "Card user001-card: active → inactive") ||
		!strings.Contains(got, "active → on hold") || !strings.Contains(got, "Role Employee: assigned → withdrawn") {
		t.Errorf("user001's changes read %q", got)
	}
	b.run("type user007", chromedp.SetValue(chromedp.CSS(`[data-testid=find-user]`), "user007"))
	b.submit("find user007", `[data-testid=filter]`, `[data-testid=item-user007]`)
	if n, shown := evalJS[int](t, b.ctx, `document.querySelectorAll("[data-testid=run-items] > li").length`), b.text(`[data-testid=items-shown]`); n != 1 || shown != "1 user found" {
		t.Errorf("finding user007 shows %d rows (%q)", n, shown)
	}
}

// operatorPages: every other Operator page at each width.
func (d *daily) operatorPages() {
	b := d.b
	for _, w := range widths {
		b.setWidth(w)
		for _, p := range []string{"/operator", "/operator/jobs", "/operator/jobs/inactive/runs", "/operator/users?q=user00", "/operator/nothing-here"} {
			b.open(p)
			b.checkPage(p, w)
		}
		b.open("/operator/users?q=user001")
		b.run("open user001", chromedp.Click(chromedp.CSS(`[data-testid=users] a`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=user-state]`)))
		b.checkPage("user001", w)
	}
	b.open("/operator/jobs")
	if got := b.text(`#job-inactive [data-testid=job-loaded]`); !strings.HasPrefix(got, "as cached, loaded 20") {
		b.t.Errorf("the card says its definition is %q", got)
	}
}

// refusal: an operator asking for an Admin page is refused in Operator's
// frame, with a way on to a page she may see.
func (d *daily) refusal() {
	b, t := d.b, d.b.t
	for _, w := range widths {
		b.setWidth(w)
		b.open("/admin/accounts")
		b.checkPage("refusal", w)
	}
	if title := evalJS[string](t, b.ctx, `document.title`); title != "Not allowed · Smart ID Identity Manager Operator" {
		t.Errorf("title %q", title)
	}
	if !b.exists(`[data-testid=nav-jobs]`) || b.exists(`[data-testid=nav-accounts]`) {
		t.Error("the refusal is not in Operator's frame")
	}
	b.submit("follow the way on", `[data-testid=error-home]`, `[data-testid=tile-jobs]`)
}

// adminPages: every Admin page at each width.
func (d *daily) adminPages() {
	b := d.b
	for _, w := range widths {
		b.setWidth(w)
		for _, p := range []string{"/admin", "/admin/batch-sync", "/admin/batch-sync/inactive", "/admin/ldap", "/admin/accounts", "/admin/audit", "/admin/notifications"} {
			b.open(p)
			b.checkPage(p, w)
		}
	}
}

// schedulePaste: the list says each expression in words; on the job's page
// a pasted expression (no key pressed) is checked at once.
func (d *daily) schedulePaste() {
	b, t := d.b, d.b.t
	b.open("/admin/batch-sync")
	if got := b.text(`[data-testid=description-inactive]`); got != "Every day at 02:30" {
		t.Errorf("the list describes the inactive job's expression as %q", got)
	}
	b.open("/admin/batch-sync/inactive")
	evalJS[bool](t, b.ctx, `(() => { const e = document.querySelector("[data-testid=expression]"); e.focus(); e.select(); return true; })()`)
	b.run("paste an expression", insertText("15 4 * * *"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=expression-check][data-expression="15 4 * * *"] [data-testid=check-next]`)))
	if got := b.text(`[data-testid=check-description]`); got != "Every day at 04:15" {
		t.Errorf("the pasted expression is described as %q", got)
	}
}

// insertText puts text into the focused field as a paste or a dictation
// does: one input event, no key pressed.
func insertText(text string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return chromedp.Void{}, err
	}
}

// accountRow: from olga's row the administrator changes her role, sets her
// password, and disables her after the confirm step.
func (d *daily) accountRow() {
	b, t := d.b, d.b.t
	row := `[data-testid=account-olga] `
	b.open("/admin/accounts")
	b.run("choose administrator", chromedp.SetValue(chromedp.CSS(row+`[data-testid=role]`), "administrator"))
	b.submit("make olga an administrator", row+`[data-testid=change-role]`, `[data-testid=flash]`)
	if got := b.text(`[data-testid=flash]`); got != "olga is now an administrator; their sessions were ended." {
		t.Errorf("flash %q", got)
	}
	b.run("type olga's password in her row",
		chromedp.Click(chromedp.CSS(row+`[data-testid=set-password] summary`)),
		chromedp.SendKeys(chromedp.CSS(row+`[data-testid=new-password]`), "another long password"),
		chromedp.SendKeys(chromedp.CSS(row+`[data-testid=new-password2]`), "another long password"))
	b.submit("set olga's password", row+`[data-testid=set-password-submit]`, `[data-testid=flash]`)
	if got := b.text(`[data-testid=flash]`); got != "Password of olga set; its sessions were ended." {
		t.Errorf("flash %q", got)
	}
	b.submit("ask to disable olga", row+`[data-testid=disable]`, `[data-testid=confirm-disable]`)
	for _, w := range widths {
		b.setWidth(w)
		b.checkPage("disable olga?", w)
	}
	b.submit("confirm", `[data-testid=confirm-disable]`, `[data-testid=flash]`)
	if got := b.text(`[data-testid=flash]`); got != "Account olga disabled." {
		t.Errorf("flash %q", got)
	}
}

// auditFilters: the administrator finds who started the run, and downloads
// what the filters keep.
func (d *daily) auditFilters() {
	b, t := d.b, d.b.t
	b.open("/admin/audit")
	b.run("choose olga's runs",
		chromedp.SetValue(chromedp.CSS(`[data-testid=audit-who]`), "olga"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=audit-action]`), "job.run"))
	b.submit("filter by olga's runs", `[data-testid=audit-show]`, `[data-testid=audit-event]`)
	rows := evalJS[[]string](t, b.ctx, `[...document.querySelectorAll("[data-testid=audit-event]")].map(r => [...r.cells].slice(1, 4).map(c => c.textContent).join("|"))`)
	if len(rows) != 1 || rows[0] != "olga|Run started|Synchronize inactive LDAP Users to Identity Manager" {
		t.Errorf("olga's runs: %q", rows)
	}
	body := evalJS[string](t, b.ctx, `fetch(document.querySelector('[data-testid=audit-csv]').href).then(r => r.text())`, chromedp.EvalAwaitPromise)
	if lines := strings.Split(strings.TrimSpace(body), "\n"); len(lines) != 2 || !strings.Contains(lines[1], ",olga,Run started,") {
		t.Errorf("the CSV of olga's runs:\n%s", body)
	}
}
