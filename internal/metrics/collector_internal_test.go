package metrics

import (
	"testing"
	"time"
)

// TestLongestGap: idm_job_interval_seconds is the longest gap between
// consecutive runs, so that "no success for twice the interval" does not
// fire over a weekend for a weekday job.
func TestLongestGap(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC) // a Wednesday
	for _, tc := range []struct {
		name, expr string
		want       time.Duration
		ok         bool
	}{
		{"Daily", "0 2 * * *", 24 * time.Hour, true},
		{"WeekdaysReportTheWeekend", "0 2 * * 1-5", 72 * time.Hour, true},
		{"OfficeHoursReportTheNight", "0 9-17 * * *", 16 * time.Hour, true},
		{"EveryFiveMinutes", "*/5 * * * *", 5 * time.Minute, true},
		{"Every", "@every 90s", 90 * time.Second, true},
		{"ErrInvalid", "61 * * * *", 0, false},
		{"ErrNeverRuns", "0 0 30 2 *", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := longestGap(tc.expr, time.UTC, now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("longestGap(%q) = %v, %v; want %v, %v", tc.expr, got, ok, tc.want, tc.ok)
			}
		})
	}
}
