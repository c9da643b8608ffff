package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"idm/internal/domain"
)

func saveForm(expr string, enabled bool, version int) url.Values {
	f := url.Values{"expression": {expr}, "version": {strconv.Itoa(version)}}
	if enabled {
		f.Set("enabled", "true")
	}
	return f
}

func TestScheduleSave(t *testing.T) {
	t.Parallel()
	t.Run("OK", testScheduleSaveOK)
	t.Run("DisableUnschedules", testScheduleSaveDisableUnschedules)
	// The refusals share one environment: each leaves it as it was.
	refused := newEnv(t, envOptions{})
	for _, tc := range invalidSchedules {
		t.Run(tc.name, func(t *testing.T) { testScheduleSaveInvalid(t, refused, tc) })
	}
	t.Run("ErrStaleVersion", testScheduleSaveStaleVersion)
	for _, sub := range []struct {
		name string
		run  func(*testing.T, *testEnv)
	}{
		{"ErrNoVersion", testScheduleSaveNoVersion},
		{"ErrCrossSite", testScheduleSaveCrossSite},
		{"ErrUnknownJob", testScheduleSaveUnknownJob},
	} {
		t.Run(sub.name, func(t *testing.T) { sub.run(t, refused) })
	}
}

// testScheduleSaveOK saves the seeded disabled inactive job enabled at
// 03:00: stored, audited, rescheduled at once, announced to the cluster and
// shown on the page with a flash that shows once.
func testScheduleSaveOK(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	before := e.job(domain.JobInactive)
	if before.Enabled {
		t.Fatal("the inactive job starts enabled; this test expects the seeded disabled job")
	}
	res := e.do(http.MethodPost, "/admin/batch-sync/inactive", saveForm("  0 3 * * * ", true, before.Version), false)
	if res.Code != http.StatusSeeOther || res.Header().Get("Location") != "/admin/batch-sync/inactive" {
		t.Fatalf("status %d, location %q: %s", res.Code, res.Header().Get("Location"), res.Body)
	}
	after := e.job(domain.JobInactive)
	if after.CronExpression != "0 3 * * *" || !after.Enabled || after.Version != before.Version+1 || after.UpdatedBy != testAdmin {
		t.Errorf("stored %q enabled=%v version=%d by %q; want \"0 3 * * *\", enabled, version %d, by %s",
			after.CronExpression, after.Enabled, after.Version, after.UpdatedBy, before.Version+1, testAdmin)
	}
	events := e.audit()
	if len(events) == 0 || events[0].Action != domain.AuditScheduleSave || events[0].Target != "inactive" || events[0].Actor != testAdmin {
		t.Fatalf("latest audit event %+v, want schedule.save of inactive by %s", events, testAdmin)
	}
	if want := "30 2 * * * → 0 3 * * *"; !strings.Contains(events[0].Detail, want) {
		t.Errorf("audit detail %q does not contain %q", events[0].Detail, want)
	}
	// Rescheduled at once: the running scheduler knows the new next run.
	next, ok := e.sched.NextRun(domain.JobInactive)
	if !ok {
		t.Fatal("the job is not scheduled after the save")
	}
	if n := next.In(e.loc); n.Hour() != 3 || n.Minute() != 0 || time.Until(n) > 24*time.Hour {
		t.Errorf("next run %v, want the next 03:00 in %s", n, testTimeZone)
	}
	if got := e.notified.list(); len(got) != 1 || got[0] != "jobs" {
		t.Errorf("notified %v, want [jobs]", got)
	}
	doc := e.get("/admin/batch-sync/inactive")
	if got := testid(doc, "flash"); got != "Saved. To see this update in Identity Manager Operator, click Clear cache in the Operator UI." {
		t.Errorf("flash %q", got)
	}
	if got, want := testid(doc, "next-run"), next.In(e.loc).Format("2006-01-02 15:04:05 MST"); got != want {
		t.Errorf("page shows next run %q, want %q", got, want)
	}
	if v, _ := doc.Find(`input[name="version"]`).Attr("value"); v != strconv.Itoa(after.Version) {
		t.Errorf("form version %q, want %d", v, after.Version)
	}
	// The flash shows once.
	if got := testid(e.get("/admin/batch-sync/inactive"), "flash"); got != "" {
		t.Errorf("flash shown again: %q", got)
	}
}

func testScheduleSaveDisableUnschedules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.job(domain.JobActive).Version
	if res := e.do(http.MethodPost, "/admin/batch-sync/active", saveForm("@hourly", true, v), false); res.Code != http.StatusSeeOther {
		t.Fatalf("enable: status %d", res.Code)
	}
	if _, ok := e.sched.NextRun(domain.JobActive); !ok {
		t.Fatal("not scheduled after enabling")
	}
	if res := e.do(http.MethodPost, "/admin/batch-sync/active", saveForm("@hourly", false, v+1), false); res.Code != http.StatusSeeOther {
		t.Fatalf("disable: status %d", res.Code)
	}
	if next, ok := e.sched.NextRun(domain.JobActive); ok {
		t.Errorf("still scheduled at %v after disabling", next)
	}
	if got := testid(e.get("/admin/batch-sync/active"), "next-run"); got != "not scheduled" {
		t.Errorf("page next run %q, want not scheduled", got)
	}
}

// invalidSchedule is an expression the form refuses, with a part of the
// reason it must show at the field.
type invalidSchedule struct {
	name, expr, reason string
}

var invalidSchedules = []invalidSchedule{
	{"ErrInvalidCron", "61 * * * *", "61"},
	{"ErrThirtiethOfFebruary", "0 0 30 2 *", "February has no 30th day"},
	{"ErrEmpty", "   ", "enter a cron expression"},
}

// testScheduleSaveInvalid saves tc's expression: a 422 with the reason at
// the field, what was typed kept, and nothing changed.
func testScheduleSaveInvalid(t *testing.T, e *testEnv, tc invalidSchedule) {
	before := e.job(domain.JobInactive)
	res := e.do(http.MethodPost, "/admin/batch-sync/inactive", saveForm(tc.expr, true, before.Version), false)
	if res.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", res.Code)
	}
	doc := parseHTML(t, res)
	if msg := testid(doc, "error-expression"); !strings.Contains(msg, tc.reason) {
		t.Errorf("field message %q does not contain %q", msg, tc.reason)
	}
	if v, _ := doc.Find(`[data-testid="expression"]`).Attr("value"); v != tc.expr {
		t.Errorf("the form lost what was typed: %q", v)
	}
	assertJobUnchanged(t, e, before)
}

func testScheduleSaveStaleVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	opened := e.job(domain.JobInactive).Version
	// Another administrator saves first, from the same version.
	if res := e.do(http.MethodPost, "/admin/batch-sync/inactive", saveForm("0 4 * * *", false, opened), false); res.Code != http.StatusSeeOther {
		t.Fatalf("first save: status %d", res.Code)
	}
	before := e.job(domain.JobInactive)
	res := e.do(http.MethodPost, "/admin/batch-sync/inactive", saveForm("*/5 * * * *", true, opened), false)
	if res.Code != http.StatusConflict {
		t.Fatalf("status %d, want 409", res.Code)
	}
	msg := testid(parseHTML(t, res), "conflict")
	want := "changed by " + testAdmin + " at " + before.UpdatedAt.In(e.loc).Format("2006-01-02 15:04:05 MST") + " since you opened it"
	if !strings.Contains(msg, want) {
		t.Errorf("message %q does not contain %q", msg, want)
	}
	assertJobUnchanged(t, e, before)
}

func testScheduleSaveNoVersion(t *testing.T, e *testEnv) {
	before := e.job(domain.JobInactive)
	res := e.do(http.MethodPost, "/admin/batch-sync/inactive", url.Values{"expression": {"@daily"}}, false)
	if res.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", res.Code)
	}
	assertJobUnchanged(t, e, before)
}

func testScheduleSaveCrossSite(t *testing.T, e *testEnv) {
	before := e.job(domain.JobInactive)
	req := httptestPost("/admin/batch-sync/inactive", saveForm("@daily", true, before.Version))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(e.cookie)
	res := serve(e.h, req)
	if res.Code != http.StatusForbidden {
		t.Fatalf("status %d, want 403", res.Code)
	}
	assertJobUnchanged(t, e, before)
}

func testScheduleSaveUnknownJob(t *testing.T, e *testEnv) {
	if res := e.do(http.MethodPost, "/admin/batch-sync/nosuch", saveForm("@daily", true, 1), false); res.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404", res.Code)
	}
}

// assertJobUnchanged checks that a refused save left the job, its audit
// trail and the scheduler as they were.
func assertJobUnchanged(t *testing.T, e *testEnv, before *domain.Job) {
	t.Helper()
	after := e.job(before.Key)
	if after.CronExpression != before.CronExpression || after.Enabled != before.Enabled || after.Version != before.Version || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("job changed: before %+v, after %+v", before, after)
	}
	saves := 0
	for _, ev := range e.audit() {
		if ev.Action == domain.AuditScheduleSave && ev.Target == string(before.Key) {
			saves++
		}
	}
	if want := before.Version - 1; saves != want {
		t.Errorf("%d schedule.save audit events for %s, want %d", saves, before.Key, want)
	}
	if _, ok := e.sched.NextRun(before.Key); ok != before.Enabled {
		t.Errorf("scheduled = %v, want %v", ok, before.Enabled)
	}
}

// TestBatchSyncPages reads the pages of one environment in order: the
// later subtests record a schedule error and a run the earlier ones must
// not see yet.
func TestBatchSyncPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, sub := range []struct {
		name string
		run  func(*testing.T, *testEnv)
	}{
		{"ListShowsJobs", testBatchSyncList},
		{"UseCaseDetailsAsTheSeeds", testBatchSyncUseCaseDetails},
		{"ScheduleErrorShown", testBatchSyncScheduleError},
		{"LastResultShown", testBatchSyncLastResult},
		{"ErrUnknownJob", testBatchSyncUnknownJob},
	} {
		t.Run(sub.name, func(t *testing.T) { sub.run(t, e) })
	}
}

func testBatchSyncList(t *testing.T, e *testEnv) {
	doc := e.get("/admin/batch-sync")
	for key, name := range map[string]string{"active": "Synchronize active LDAP Users to Identity Manager", "inactive": "Synchronize inactive LDAP Users to Identity Manager"} {
		if got := testid(doc, "job-link-"+key); got != name {
			t.Errorf("job %s listed as %q, want %q", key, got, name)
		}
		if href, _ := doc.Find(`[data-testid="job-link-` + key + `"]`).Attr("href"); href != "/admin/batch-sync/"+key {
			t.Errorf("job %s links to %q", key, href)
		}
	}
	if got := testid(doc, "job-inactive"); !strings.Contains(got, "30 2 * * *") || !strings.Contains(got, "disabled") || !strings.Contains(got, "never run") {
		t.Errorf("inactive row %q", got)
	}
}

func testBatchSyncUseCaseDetails(t *testing.T, e *testEnv) {
	doc := e.get("/admin/batch-sync/active")
	rows := map[string]string{}
	doc.Find(`[data-testid="use-case-details"] tr`).Each(func(_ int, s *goquery.Selection) {
		rows[strings.TrimSpace(s.Find("th").Text())] = strings.TrimSpace(s.Find("td").Text())
	})
	want := map[string]string{
		"Symbolic name":  "LDAPAddonBatchSyncSynchronizeInactiveLDAPUsersToIDMUsers",
		"Process name":   "Synchronize active LDAP Users to Identity Manager",
		"Component":      "Identity Manager Admin",
		"Process start":  "Batch synchronization",
		"Executable for": "Administrator",
	}
	for k, v := range want {
		if rows[k] != v {
			t.Errorf("%s = %q, want %q", k, rows[k], v)
		}
	}
	if got := testid(doc, "options"); got != "There are no options for this use case." {
		t.Errorf("options %q", got)
	}
	if got := testid(doc, "expression-help"); !strings.Contains(got, "CRON_TZ=Europe/Stockholm") || !strings.Contains(got, "@every 15m") || !strings.Contains(got, "?") {
		t.Errorf("help %q", got)
	}
	input := doc.Find(`[data-testid="expression"]`)
	if v, _ := input.Attr("hx-get"); v != "/admin/batch-sync/active/check" {
		t.Errorf("hx-get %q", v)
	}
	if v, _ := input.Attr("hx-trigger"); !strings.HasPrefix(v, "input changed delay:400ms") {
		t.Errorf("hx-trigger %q", v)
	}
	if got := testid(doc, "check-description"); got == "" {
		t.Error("the stored expression is not checked on the page")
	}
}

func testBatchSyncScheduleError(t *testing.T, e *testEnv) {
	reason := "unknown time zone \"Mars/Olympus\""
	if err := e.db.SetJobScheduleState(context.Background(), domain.JobActive, nil, reason); err != nil {
		t.Fatal(err)
	}
	if got := testid(e.get("/admin/batch-sync"), "schedule-error-active"); got != reason {
		t.Errorf("list shows %q", got)
	}
	if got := testid(e.get("/admin/batch-sync/active"), "schedule-error"); got != reason {
		t.Errorf("job page shows %q", got)
	}
}

func testBatchSyncLastResult(t *testing.T, e *testEnv) {
	ctx := context.Background()
	started := time.Now().UTC().Add(-time.Hour)
	run := &domain.Run{ID: "r1", JobKey: domain.JobInactive, Trigger: domain.TriggerManual, Status: domain.RunRunning, StartedAt: started, HeartbeatAt: started}
	if err := e.db.CreateRun(ctx, run, time.Minute); err != nil {
		t.Fatal(err)
	}
	fin := started.Add(time.Minute)
	run.Status, run.FinishedAt = domain.RunSafetyStop, &fin
	if err := e.db.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if got := testid(e.get("/admin/batch-sync"), "job-inactive"); !strings.Contains(got, "stopped by a safety check") {
		t.Errorf("row %q", got)
	}
	if got := testid(e.get("/admin/batch-sync/inactive"), "last-result"); !strings.Contains(got, "stopped by a safety check") {
		t.Errorf("last result %q", got)
	}
}

func testBatchSyncUnknownJob(t *testing.T, e *testEnv) {
	if res := e.do(http.MethodGet, "/admin/batch-sync/nosuch", nil, false); res.Code != http.StatusNotFound {
		t.Errorf("status %d", res.Code)
	}
}
