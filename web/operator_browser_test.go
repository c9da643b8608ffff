package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
	"idm/internal/testenv"
)

// slowSource is the real directory with a pause before each page, so that a
// person (and this test) can watch a run's progress.
type slowSource struct {
	engine.Source
	pause time.Duration
}

func (s slowSource) Search(ctx context.Context, filter string, m domain.AttributeMap, fn func([]directory.Entry) error) error {
	return s.Source.Search(ctx, filter, m, func(page []directory.Entry) error {
		select {
		case <-time.After(s.pause):
		case <-ctx.Done():
			return ctx.Err()
		}
		return fn(page)
	})
}

func slowDial(pause time.Duration) engine.Dialer {
	return func(ctx context.Context, settings domain.LDAPSettings, pw string) (engine.Source, error) {
		src, err := engine.DialDirectory(ctx, settings, pw)
		if err != nil {
			return nil, err
		}
		return slowSource{Source: src, pause: pause}, nil
	}
}

// Three people locked in the directory: dave and erin are in Identity
// Manager with a credential of every type and two roles; frank is not.
const browserLDIF = `dn: uid=dave,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: dave
cn: Dave Locked
givenName: Dave
sn: Locked
mail: dave@example.com
pwdAccountLockedTime: 000001010000Z

dn: uid=erin,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: erin
cn: Erin Locked
givenName: Erin
sn: Locked
mail: erin@example.com
pwdAccountLockedTime: 000001010000Z

dn: uid=frank,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: frank
cn: Frank Locked
givenName: Frank
sn: Locked
mail: frank@example.com
pwdAccountLockedTime: 000001010000Z

dn: uid=gina,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: gina
cn: Gina Active
givenName: Gina
sn: Active
mail: gina@example.com
`

// seedHolder stores username as an active user with one credential of each
// type, each holding one active certificate, and two roles.
func seedHolder(t *testing.T, db *store.DB, username string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	var creds []store.CredentialDetail
	for _, ct := range domain.CredentialTypes {
		serial := username + "-" + string(ct)
		creds = append(creds, store.CredentialDetail{
			Credential: domain.Credential{Type: ct, Serial: serial, State: domain.CredentialActive},
			Certificates: []domain.Certificate{{Serial: serial + "-cert", Subject: "CN=" + username, Issuer: "CN=Test CA",
				NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0), State: domain.CertificateActive}},
		})
	}
	d := store.UserDetail{
		User: domain.User{Username: username, DN: "uid=" + username + ",ou=people,dc=example,dc=com", GivenName: strings.ToUpper(username[:1]) + username[1:],
			State: domain.UserActive, Source: domain.SourceImport},
		Holdings: store.Holdings{Credentials: creds, Roles: []store.RoleDetail{{RoleName: "Employee"}, {RoleName: "Approver"}}},
	}
	if _, err := db.ImportUser(context.Background(), d); err != nil {
		t.Fatalf("seed %s: %v", username, err)
	}
}

func TestOperatorInBrowser(t *testing.T) {
	sl := testenv.StartSlapd(t, browserLDIF)
	// Pages of 2 entries, each held 1.5s: longer than the card's 1s poll, so
	// the page shows the entries read while the job runs.
	e := newEnv(t, envOptions{accounts: opAccounts, dial: slowDial(1500 * time.Millisecond)})
	e.configureLDAP(t, sl.URL, sl.AdminDN, sl.AdminPassword)
	for _, u := range []string{"dave", "erin"} {
		seedHolder(t, e.db, u)
	}
	b := newBrowserTab(t, e)
	clearCacheShowsTheSave(b)
	runHref := runNowAndFollow(b)
	wantDaveEndStates(b, runHref)
	wantRunCSV(b, runHref)
}

const inactiveExpr = `#job-inactive [data-testid=job-expression]`

// clearCacheShowsTheSave: the operator's cache loads; an administrator saves
// a new expression through Admin; the operator still sees the cached one,
// with the notice, until Clear cache.
func clearCacheShowsTheSave(b *browserTab) {
	t, base, run, text, exists := b.t, b.base, b.run, b.trimmed, b.exists
	t.Helper()
	b.signIn("olga")
	run("open Batch jobs", chromedp.Navigate(base+"/operator/jobs"), chromedp.WaitVisible(chromedp.CSS(inactiveExpr)))
	if got := text(inactiveExpr); got != "30 2 * * *" {
		t.Fatalf("inactive job expression %q, want the seeded 30 2 * * *", got)
	}
	b.signOut()

	b.signIn("adam")
	run("save a new expression",
		chromedp.Navigate(base+"/admin/batch-sync/inactive"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=expression]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=expression]`), "45 3 * * *"),
		chromedp.Click(chromedp.CSS(`[data-testid=save]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if got := text(`[data-testid=stored-expression]`); got != "45 3 * * *" {
		t.Fatalf("Admin stored %q, want 45 3 * * *", got)
	}
	b.signOut()

	b.signIn("olga")
	run("open Batch jobs again", chromedp.Navigate(base+"/operator/jobs"), chromedp.WaitVisible(chromedp.CSS(inactiveExpr)))
	if got := text(inactiveExpr); got != "30 2 * * *" {
		t.Errorf("before Clear cache the operator sees %q, want the cached 30 2 * * *", got)
	}
	if !exists(`[data-testid=cache-stale]`) {
		t.Error("no notice that an administrator saved since the cache was loaded")
	}
	run("Clear cache", chromedp.Click(chromedp.CSS(`[data-testid=clear-cache]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
	if got := text(inactiveExpr); got != "45 3 * * *" {
		t.Errorf("after Clear cache the operator sees %q, want 45 3 * * *", got)
	}
	if exists(`[data-testid=cache-stale]`) {
		t.Error("the notice stays after Clear cache")
	}
}

// runNowAndFollow clicks Run now on the inactive job and follows the
// progress without reloading; it returns the link to the finished run.
func runNowAndFollow(b *browserTab) string {
	t, ctx, run, text, exists := b.t, b.ctx, b.run, b.trimmed, b.exists
	t.Helper()
	run("Run now", chromedp.Click(chromedp.CSS(`#job-inactive [data-testid=run-now]`)),
		chromedp.WaitVisible(chromedp.CSS(`#job-inactive [data-testid=job-progress]`)))
	if !evalJS[bool](t, ctx, `document.querySelector('#job-inactive [data-testid=run-now]').disabled`) {
		t.Error("Run now is not disabled while the job runs")
	}
	if maxRead := followProgress(b); maxRead == 0 {
		t.Error("the card never showed entries read while the job ran")
	}
	if got := text(`#job-inactive [data-testid=job-last-status]`); got != "succeeded" {
		t.Fatalf("last result %q, want succeeded; card: %s", got, text(`#job-inactive`))
	}
	for id, want := range map[string]string{
		"read": "3", "created": "1", "deactivated": "2", "credentials-changed": "10",
		"certificates-on-hold": "8", "certificates-revoked": "2", "roles-withdrawn": "4",
	} {
		if got := text(`#job-inactive [data-testid=count-` + id + `] strong`); got != want {
			t.Errorf("count %s = %s, want %s", id, got, want)
		}
	}
	if exists(`#job-inactive[hx-trigger]`) {
		t.Error("the card still polls after the run ended")
	}
	return evalJS[string](t, ctx, `document.querySelector('#job-inactive [data-testid=job-last-result] a').getAttribute('href')`)
}

// followProgress watches the inactive job's card until the run ends and
// returns the most entries it showed read.
func followProgress(b *browserTab) int {
	t := b.t
	t.Helper()
	maxRead, deadline := 0, time.Now().Add(60*time.Second)
	for {
		st := evalJS[struct {
			Status string `json:"status"`
			Read   string `json:"read"`
		}](t, b.ctx, `(() => { const c = document.querySelector('#job-inactive');
			const p = c.querySelector('[data-testid=job-progress]');
			return {status: c.dataset.status, read: p ? p.dataset.read : ""}; })()`)
		if n, err := strconv.Atoi(st.Read); err == nil && n > maxRead {
			maxRead = n
		}
		if st.Status != "running" {
			return maxRead
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not end within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantDaveEndStates: the user's page shows the end states of DESIGN.md §2
// and links the run that changed him.
func wantDaveEndStates(b *browserTab, runHref string) {
	t, ctx := b.t, b.ctx
	t.Helper()
	b.run("open dave", chromedp.Navigate(b.base+"/operator/users?q=dave"), chromedp.Click(`[data-testid="user-dave"] a`),
		chromedp.WaitVisible(`[data-testid=user-fields]`))
	if got := b.trimmed(`[data-testid=user-state]`); got != "inactive" {
		t.Errorf("dave is %q, want inactive", got)
	}
	for _, tc := range []struct {
		ct         domain.CredentialType
		cred, cert string
	}{
		{domain.CredentialCard, "inactive", "on_hold"},
		{domain.CredentialTemporaryCard, "locked", "revoked"},
		{domain.CredentialVirtualSmartCard, "inactive", "on_hold"},
		{domain.CredentialMobileID, "inactive", "on_hold"},
		{domain.CredentialSoftToken, "inactive", "on_hold"},
	} {
		serial := "dave-" + string(tc.ct)
		cred := evalJS[string](t, ctx, fmt.Sprintf(`document.querySelector('[data-testid="credential-%s"]').dataset.state`, serial))
		cert := evalJS[string](t, ctx, fmt.Sprintf(`document.querySelector('[data-testid="certificate-%s-cert"]').dataset.state`, serial))
		label := evalJS[string](t, ctx, fmt.Sprintf(`document.querySelector('[data-testid="credential-%s"] header strong').textContent`, serial))
		if cred != tc.cred || cert != tc.cert || label != tc.ct.Label() {
			t.Errorf("%s: %q credential %s, certificate %s; want %s, %s", serial, label, cred, cert, tc.cred, tc.cert)
		}
	}
	for _, role := range []string{"Employee", "Approver"} {
		st := evalJS[string](t, ctx, fmt.Sprintf(`document.querySelector('[data-testid="role-%s"]').dataset.state`, role))
		if st != "withdrawn" {
			t.Errorf("role %s is %q, want withdrawn", role, st)
		}
	}
	if !b.exists(`[data-testid=user-runs] a[href="` + runHref + `"]`) {
		t.Errorf("dave's page does not link the run %s that changed him", runHref)
	}
}

// wantRunCSV: the run's CSV has one row per changed user.
func wantRunCSV(b *browserTab, runHref string) {
	t := b.t
	t.Helper()
	b.run("open the run", chromedp.Navigate(b.base+runHref), chromedp.WaitVisible(chromedp.CSS(`[data-testid=items-csv]`)))
	body := evalJS[string](t, b.ctx, `fetch(document.querySelector('[data-testid=items-csv]').href).then(r => r.text())`, chromedp.EvalAwaitPromise)
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	var rows []string
	for _, r := range recs[1:] {
		rows = append(rows, r[0]+" "+r[2])
	}
	sort.Strings(rows)
	if got, want := strings.Join(rows, ", "), "dave deactivated, erin deactivated, frank created"; got != want {
		t.Errorf("CSV rows %q, want %q", got, want)
	}
}
