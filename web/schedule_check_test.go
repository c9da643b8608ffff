package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"idm/internal/domain"
	"idm/internal/store"
)

// checkNow is the pages' clock in these tests: Monday 10 March 2025,
// 10:00 UTC (11:00 in Stockholm).
var checkNow = time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)

func TestScheduleCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{now: func() time.Time { return checkNow }})
	tests := []struct {
		name      string
		expr      string
		valid     bool
		reason    string   // part of the reason when invalid
		firstRuns []string // the first runs listed, in Stockholm time
	}{
		{name: "OKFiveFields", expr: "30 2 * * *", valid: true,
			firstRuns: []string{"2025-03-11 02:30:00 CET", "2025-03-12 02:30:00 CET"}},
		{name: "OKSeconds", expr: "*/2 * * * * *", valid: true,
			firstRuns: []string{"2025-03-10 11:00:02 CET", "2025-03-10 11:00:04 CET"}},
		{name: "OKDescriptorHourly", expr: "@hourly", valid: true,
			firstRuns: []string{"2025-03-10 12:00:00 CET", "2025-03-10 13:00:00 CET"}},
		{name: "OKDescriptorDaily", expr: "@daily", valid: true,
			firstRuns: []string{"2025-03-11 00:00:00 CET"}},
		{name: "OKEvery", expr: "@every 15m", valid: true,
			firstRuns: []string{"2025-03-10 11:15:00 CET", "2025-03-10 11:30:00 CET"}},
		{name: "OKQuartzQuestionMark", expr: "0 0 6 ? * MON", valid: true,
			firstRuns: []string{"2025-03-17 06:00:00 CET"}},
		{name: "OKTimeZonePrefix", expr: "CRON_TZ=UTC 0 2 * * *", valid: true,
			firstRuns: []string{"2025-03-11 03:00:00 CET"}},
		{name: "OKExtraSpaces", expr: "  0   2 * * *  ", valid: true,
			firstRuns: []string{"2025-03-11 02:00:00 CET"}},
		{name: "ErrMinuteOutOfRange", expr: "61 * * * *", reason: "61"},
		{name: "ErrThirtiethOfFebruary", expr: "0 0 30 2 *", reason: "never runs: February has no 30th day"},
		{name: "ErrTooManyFields", expr: "0 0 2 * * * 2025", reason: "year"},
		{name: "ErrUnknownDescriptor", expr: "@fortnightly", reason: "unknown descriptor"},
		{name: "ErrEmpty", expr: "", reason: "enter a cron expression"},
		{name: "ErrUnknownZone", expr: "CRON_TZ=Mars/Olympus 0 2 * * *", reason: "unknown time zone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(http.MethodGet, "/admin/batch-sync/inactive/check", url.Values{"expression": {tc.expr}}, true)
			if res.Code != http.StatusOK {
				t.Fatalf("status %d: %s", res.Code, res.Body)
			}
			if strings.Contains(res.Body.String(), "<html") {
				t.Fatal("htmx got a whole page, want the fragment")
			}
			doc := parseHTML(t, res)
			if got := doc.Find(`[data-testid="check-valid"]`).Length() == 1; got != tc.valid {
				t.Fatalf("valid = %v, want %v: %s", got, tc.valid, res.Body)
			}
			if !tc.valid {
				if reason := testid(doc, "check-reason"); !strings.Contains(reason, tc.reason) {
					t.Errorf("reason %q does not contain %q", reason, tc.reason)
				}
				if doc.Find(`[data-testid="check-next"] li`).Length() != 0 {
					t.Error("an invalid expression lists run times")
				}
				return
			}
			if testid(doc, "check-description") == "" {
				t.Error("no description")
			}
			var runs []string
			doc.Find(`[data-testid="check-next"] li`).Each(func(_ int, s *goquery.Selection) { runs = append(runs, s.Text()) })
			if len(runs) != 5 {
				t.Fatalf("%d next runs listed, want 5: %v", len(runs), runs)
			}
			for i, want := range tc.firstRuns {
				if runs[i] != want {
					t.Errorf("run %d = %q, want %q (all: %v)", i, runs[i], want, runs)
				}
			}
		})
	}
}

func TestScheduleCheckWarnsWhenRunsOverlap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{now: func() time.Time { return checkNow }})
	ctx := context.Background()
	// The inactive job's last run took 5 minutes.
	started := checkNow.Add(-time.Hour)
	run := &domain.Run{ID: store.NewID(), JobKey: domain.JobInactive, Trigger: domain.TriggerManual, TriggeredBy: "test",
		Status: domain.RunRunning, StartedAt: started, HeartbeatAt: started}
	if err := e.db.CreateRun(ctx, run, time.Minute); err != nil {
		t.Fatal(err)
	}
	finished := started.Add(5 * time.Minute)
	run.Status, run.FinishedAt = domain.RunSucceeded, &finished
	if err := e.db.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, expr string
		warn       bool
	}{
		{"WarnsEveryMinute", "* * * * *", true},
		{"WarnsEveryTwoSeconds", "*/2 * * * * *", true},
		{"QuietHourly", "@hourly", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(http.MethodGet, "/admin/batch-sync/inactive/check", url.Values{"expression": {tc.expr}}, true)
			doc := parseHTML(t, res)
			warning := testid(doc, "check-warning")
			if (warning != "") != tc.warn {
				t.Fatalf("warning %q, want one: %v", warning, tc.warn)
			}
			if tc.warn && !strings.Contains(warning, "took 5 minutes (") {
				t.Errorf("warning %q does not name the last run's duration", warning)
			}
		})
	}
	t.Run("OtherJobQuiet", func(t *testing.T) {
		res := e.do(http.MethodGet, "/admin/batch-sync/active/check", url.Values{"expression": {"* * * * *"}}, true)
		if w := testid(parseHTML(t, res), "check-warning"); w != "" {
			t.Errorf("the active job never ran, yet: %q", w)
		}
	})
}

func TestScheduleCheckWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{now: func() time.Time { return checkNow }})
	doc := e.get("/admin/batch-sync/active/check?expression=" + url.QueryEscape("0 0 30 2 *"))
	if v, _ := doc.Find(`[data-testid="expression"]`).Attr("value"); v != "0 0 30 2 *" {
		t.Errorf("expression field = %q, want what was typed", v)
	}
	if r := testid(doc, "check-reason"); !strings.Contains(r, "February") {
		t.Errorf("reason %q", r)
	}
	if testid(doc, "symbolic-name") == "" {
		t.Error("not the whole job page")
	}
}

func TestScheduleCheckUnknownJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	res := e.do(http.MethodGet, "/admin/batch-sync/nosuch/check", url.Values{"expression": {"@daily"}}, true)
	if res.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404", res.Code)
	}
}
