package cronexpr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"idm/internal/cronexpr"
	"idm/internal/domain"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// mustCheck is Check's preview of expr, which must be valid.
func mustCheck(t *testing.T, expr string, loc *time.Location, now time.Time, n int) cronexpr.Preview {
	t.Helper()
	p := cronexpr.Check(expr, loc, now, n)
	if !p.Valid {
		t.Fatalf("cronexpr.Check(%q) invalid: %s", expr, p.Error)
	}
	return p
}

// A Friday, noon UTC.
var friday = time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)

func TestCheckValid(t *testing.T) {
	utc := time.UTC
	tests := []struct {
		name     string
		expr     string
		wantExpr string
		desc     string
		next     []time.Time // first runs expected (prefix of Next)
		minGap   time.Duration
	}{
		{name: "DailyFiveFields", expr: "30 2 * * *", desc: "Every day at 02:30",
			next: []time.Time{time.Date(2026, 3, 28, 2, 30, 0, 0, utc), time.Date(2026, 3, 29, 2, 30, 0, 0, utc)}, minGap: 24 * time.Hour},
		{name: "EveryTwoSeconds", expr: "*/2 * * * * *", desc: "Every 2 seconds",
			next: []time.Time{friday.Add(2 * time.Second), friday.Add(4 * time.Second)}, minGap: 2 * time.Second},
		{name: "EverySecond", expr: "* * * * * *", desc: "Every second", minGap: time.Second},
		{name: "TopOfEveryHour", expr: "0 * * * *", desc: "At minute 0 past every hour",
			next: []time.Time{friday.Add(time.Hour)}, minGap: time.Hour},
		{name: "EverySecondHour", expr: "0 */2 * * *", desc: "At minute 0 past every 2nd hour", minGap: 2 * time.Hour},
		{name: "EveryFifteenMinutes", expr: "*/15 * * * *", desc: "Every 15 minutes", minGap: 15 * time.Minute},
		{name: "EveryMinute", expr: "* * * * *", desc: "Every minute", minGap: time.Minute},
		{name: "Weekdays", expr: "0 9 * * MON-FRI", desc: "Every Monday through Friday at 09:00",
			next: []time.Time{time.Date(2026, 3, 30, 9, 0, 0, 0, utc)}, minGap: 24 * time.Hour},
		{name: "LowercaseNames", expr: "0 9 * jan-mar mon", desc: "Every Monday in January through March at 09:00"},
		{name: "DaysOfMonth", expr: "0 0 1,15 * *", desc: "On day 1 and 15 of every month at 00:00",
			next: []time.Time{time.Date(2026, 4, 1, 0, 0, 0, 0, utc), time.Date(2026, 4, 15, 0, 0, 0, 0, utc)}},
		{name: "SteppedDays", expr: "0 0 1-5/2 * *", desc: "On day 1, 3 and 5 of every month at 00:00"},
		{name: "SecondsField", expr: "15 30 2 * * *", desc: "Every day at 02:30:15",
			next: []time.Time{time.Date(2026, 3, 28, 2, 30, 15, 0, utc)}},
		{name: "QuartzQuestionMarkDayOfMonth", expr: "0 0 12 ? * MON", desc: "Every Monday at 12:00",
			next: []time.Time{time.Date(2026, 3, 30, 12, 0, 0, 0, utc)}},
		{name: "QuartzQuestionMarkDayOfWeek", expr: "0 0 12 1 6 ?", desc: "On day 1 in June at 12:00",
			next: []time.Time{time.Date(2026, 6, 1, 12, 0, 0, 0, utc)}},
		{name: "DomOrDowWhenBothRestricted", expr: "0 0 1 * MON", desc: "On day 1 of the month or on Monday at 00:00",
			next: []time.Time{time.Date(2026, 3, 30, 0, 0, 0, 0, utc), time.Date(2026, 4, 1, 0, 0, 0, 0, utc)}},
		{name: "Daily", expr: "@daily", desc: "Every day at 00:00", next: []time.Time{time.Date(2026, 3, 28, 0, 0, 0, 0, utc)}},
		{name: "Midnight", expr: "@midnight", desc: "Every day at 00:00"},
		{name: "Hourly", expr: "@hourly", desc: "At minute 0 past every hour", next: []time.Time{friday.Add(time.Hour)}},
		{name: "Weekly", expr: "@weekly", desc: "Every Sunday at 00:00", next: []time.Time{time.Date(2026, 3, 29, 0, 0, 0, 0, utc)}},
		{name: "Monthly", expr: "@monthly", desc: "On day 1 of every month at 00:00", next: []time.Time{time.Date(2026, 4, 1, 0, 0, 0, 0, utc)}},
		{name: "Yearly", expr: "@yearly", desc: "Every year on 1 January at 00:00", next: []time.Time{time.Date(2027, 1, 1, 0, 0, 0, 0, utc)}},
		{name: "Annually", expr: "@annually", desc: "Every year on 1 January at 00:00"},
		{name: "EveryFifteenMinutesAligned", expr: "@every 15m", desc: "Every 15 minutes",
			next: []time.Time{friday.Add(15 * time.Minute), friday.Add(30 * time.Minute)}, minGap: 15 * time.Minute},
		{name: "EveryNinetySeconds", expr: "@every 90s", desc: "Every 90 seconds", minGap: 90 * time.Second},
		{name: "EveryHourAndAHalf", expr: "@every 1h30m", desc: "Every 90 minutes"},
		{name: "TrimmedAndCollapsed", expr: "  0   2 * * *  ", wantExpr: "0 2 * * *", desc: "Every day at 02:00"},
		{name: "CronTZ", expr: "CRON_TZ=Europe/Stockholm 0 2 * * *", desc: "Every day at 02:00 (Europe/Stockholm time)",
			next: []time.Time{time.Date(2026, 3, 28, 1, 0, 0, 0, utc), time.Date(2026, 3, 30, 0, 0, 0, 0, utc)}},
		{name: "TZ", expr: "TZ=America/New_York 0 9 * * *", desc: "Every day at 09:00 (America/New_York time)",
			next: []time.Time{time.Date(2026, 3, 27, 13, 0, 0, 0, utc)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCheck(t, tt.expr, utc, friday, 5)
			if want := tt.wantExpr; want != "" && p.Expr != want {
				t.Errorf("Expr = %q, want %q", p.Expr, want)
			}
			if p.Description != tt.desc {
				t.Errorf("Description = %q, want %q", p.Description, tt.desc)
			}
			if len(p.Next) != 5 {
				t.Fatalf("got %d next runs, want 5", len(p.Next))
			}
			for i, want := range tt.next {
				if !p.Next[i].Equal(want) {
					t.Errorf("Next[%d] = %v, want %v", i, p.Next[i], want)
				}
			}
			if tt.minGap != 0 && p.MinInterval != tt.minGap {
				t.Errorf("MinInterval = %v, want %v", p.MinInterval, tt.minGap)
			}
			if err := domain.ValidateCronExpression(tt.expr, utc, friday); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestCheckInvalid(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want string // the whole message, or a prefix ending in "…"
	}{
		{"ErrEmpty", "   ", "enter a cron expression, for example 0 2 * * * (every day at 02:00)"},
		{"ErrTooFewFields", "* * * *", "expected 5 or 6 fields, got 4…"},
		{"ErrTooManyFields", "0 0 0 1 1 * 2027 x", "expected 5 or 6 fields, got 8…"},
		{"ErrQuartzYearField", "0 0 0 1 1 ? 2027", "expected 5 or 6 fields, got 7: the Quartz year field (the 7th) is not supported; remove it"},
		{"ErrMinuteOutOfRange", "61 * * * *", "minute: 61 is out of range 0–59"},
		{"ErrSecondOutOfRange", "60 * * * * *", "second: 60 is out of range 0–59"},
		{"ErrHourOutOfRange", "0 24 * * *", "hour: 24 is out of range 0–23"},
		{"ErrDayOfMonthZero", "0 0 0 * *", "day-of-month: 0 is out of range 1–31"},
		{"ErrMonthOutOfRange", "0 0 1 13 *", "month: 13 is out of range 1–12"},
		{"ErrSundayAsSeven", "0 0 * * 7", "day-of-week: 7 is out of range 0–6 (0 or SUN is Sunday)"},
		{"ErrRangeEndOutOfRange", "0-60 * * * *", "minute: 60 is out of range 0–59"},
		{"ErrBackwardsRange", "0 5-1 * * *", "hour: range 5-1 runs backwards; write the smaller value first"},
		{"ErrZeroStep", "*/0 * * * *", "minute: step /0 must be a whole number above 0"},
		{"ErrNotANumber", "x * * * *", `minute: "x" is not a number`},
		{"ErrBadMonthName", "0 0 1 FOO *", `month: "FOO" is not a number or a name (JAN–DEC)`},
		{"ErrEmptyListItem", "0,,5 * * * *", "minute: empty item in the list (two commas, or a comma at an end)"},
		{"ErrQuestionMarkInMinute", "? * * * *", "minute: ? is only allowed in day-of-month and day-of-week"},
		{"ErrQuartzLastDay", "0 0 L * *", `day-of-month: "L" uses L, W or #, Quartz features this scheduler does not support`},
		{"ErrQuartzNthWeekday", "0 0 ? * MON#2", `day-of-week: "MON#2" uses L, W or #, Quartz features this scheduler does not support`},
		{"ErrUnknownDescriptor", "@fortnightly", "unknown descriptor @fortnightly: use @yearly, @monthly, @weekly, @daily, @hourly or @every 15m"},
		{"ErrUppercaseDescriptor", "@DAILY", "unknown descriptor @DAILY…"},
		{"ErrDescriptorWithArgument", "@daily 5", `@daily takes nothing after it (found "5")`},
		{"ErrEveryWithoutInterval", "@every", "@every needs an interval, for example @every 15m or @every 1h30m"},
		{"ErrEveryBadInterval", "@every soon", `@every: "soon" is not an interval; write for example 90s, 15m or 1h30m`},
		{"ErrEveryTooShort", "@every 500ms", "@every: 500ms is too short; the shortest interval is 1s"},
		{"ErrEveryNegative", "@every -5m", "@every: -5m is too short; the shortest interval is 1s"},
		{"ErrEveryFraction", "@every 1500ms", "@every: 1500ms is not a whole number of seconds"},
		{"ErrUnknownTimeZone", "CRON_TZ=Mars/Olympus 0 2 * * *", `unknown time zone "Mars/Olympus": use an IANA name such as Europe/Stockholm or UTC`},
		{"ErrEmptyTimeZone", "TZ= 0 2 * * *", "TZ= names no time zone: write for example CRON_TZ=Europe/Stockholm"},
		// robfig/cron panics on this one; we must answer instead.
		{"ErrTimeZoneOnly", "CRON_TZ=UTC", "nothing after CRON_TZ=UTC: add the schedule, for example CRON_TZ=UTC 0 2 * * *"},
		{"ErrLowercaseTimeZonePrefix", "cron_tz=UTC 0 2 * * *", "write the time zone prefix in capitals: CRON_TZ=Area/City or TZ=Area/City"},
		{"ErrThirtiethOfFebruary", "0 0 30 2 *", "never runs: February has no 30th day"},
		{"ErrThirtyFirstOfShortMonths", "0 0 31 4,6,9,11 *", "never runs: April, June, September and November have no 31st day"},
		{"ErrLineBreak", "0 2 * * *\n0 3 * * *", "the expression contains a line break or an invisible character"},
		{"ErrTrailingGarbage", "0 2 * * * ;", `day-of-week: ";" is not a number or a name (SUN–SAT)`},
		{"ErrLeadingGarbage", "# 0 2 * * *", `second: "#" is not a number`},
		{"ErrPlusSign", "+5 * * * *", `minute: "+5" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cronexpr.Check(tt.expr, time.UTC, friday, 5)
			if p.Valid {
				t.Fatalf("cronexpr.Check(%q) valid, want %q", tt.expr, tt.want)
			}
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(p.Error, prefix) {
					t.Errorf("Error = %q, want prefix %q", p.Error, prefix)
				}
			} else if p.Error != tt.want {
				t.Errorf("Error = %q, want %q", p.Error, tt.want)
			}
			if len(p.Next) != 0 || p.Description != "" {
				t.Errorf("invalid expression has runs %v or description %q", p.Next, p.Description)
			}
			err := domain.ValidateCronExpression(tt.expr, time.UTC, friday)
			if domain.ErrorCode(err) != domain.EINVALID || domain.ErrorMessage(err) != p.Error {
				t.Errorf("Validate = %v, want EINVALID with %q", err, p.Error)
			}
		})
	}
}

// TestCheckAgreesWithGocron: everything Check accepts, gocron accepts, and
// the only expressions gocron accepts that Check refuses are the deliberate
// stricter cases.
func TestCheckAgreesWithGocron(t *testing.T) {
	stricter := map[string]bool{"? * * * *": true, "@every 500ms": true, "@every -5m": true, "@every 1500ms": true, "+5 * * * *": true}
	exprs := []string{
		"30 2 * * *", "*/2 * * * * *", "0 0 12 ? * MON", "@daily", "@every 15m", "CRON_TZ=Europe/Stockholm 0 2 * * *",
		"0 0 1-5/2 * *", "5/10 * * * *", "0 0 * * 0-6", "0 0 30 2 *", "61 * * * *", "0 0 L * *", "@foo", "@daily 5",
		"0 0 0 1 1 ? 2027", "* * * *", "0 0 * JAN,jul SUN", "0 0 * * */3",
	}
	for e := range stricter {
		exprs = append(exprs, e)
	}
	for _, e := range exprs {
		mine := cronexpr.Check(e, time.UTC, friday, 1).Valid
		theirs := gocron.NewDefaultCron(true).IsValid(e, time.UTC, friday) == nil
		switch {
		case mine && !theirs:
			t.Errorf("%q: Check accepts what gocron refuses", e)
		case !mine && theirs && !stricter[e]:
			t.Errorf("%q: Check refuses what gocron accepts", e)
		}
	}
}

func TestLeapYear(t *testing.T) {
	p := mustCheck(t, "0 0 29 2 *", time.UTC, friday, 3)
	want := []time.Time{
		time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2032, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2036, 2, 29, 0, 0, 0, 0, time.UTC),
	}
	for i := range want {
		if !p.Next[i].Equal(want[i]) {
			t.Errorf("Next[%d] = %v, want %v", i, p.Next[i], want[i])
		}
	}
	if p.Description != "On day 29 in February at 00:00" {
		t.Errorf("Description = %q", p.Description)
	}
}

// TestDaylightSavingTime pins what a daily 02:30 job does in Stockholm when
// the clocks change in 2026:
//   - 29 March, clocks go from 02:00 CET to 03:00 CEST: 02:30 does not exist
//     and the job does NOT run that day (robfig skips the missing time; gocron's
//     default policy keeps that).
//   - 25 October, clocks go from 03:00 CEST back to 02:00 CET: 02:30 happens
//     twice; the job runs ONCE, at the first 02:30 (CEST, 00:30 UTC). robfig
//     alone would run it again at 02:30 CET; gocron skips the repeat.
//
// A job every 20 minutes during hour 2 runs at all six 02:xx times on the
// October day (three in CEST, three in CET): gocron only skips a run whose
// wall-clock time equals the previous run's.
func TestDaylightSavingTime(t *testing.T) {
	sto := mustLoad(t, "Europe/Stockholm")
	tests := []struct {
		name string
		expr string
		from time.Time
		want []time.Time // in UTC
	}{
		{
			name: "SpringForwardSkipsTheDay",
			expr: "30 2 * * *",
			from: time.Date(2026, 3, 27, 12, 0, 0, 0, sto),
			want: []time.Time{
				time.Date(2026, 3, 28, 1, 30, 0, 0, time.UTC), // 02:30 CET
				time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC), // 02:30 CEST; 29 March skipped
			},
		},
		{
			name: "FallBackRunsOnce",
			expr: "30 2 * * *",
			from: time.Date(2026, 10, 24, 12, 0, 0, 0, sto),
			want: []time.Time{
				time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), // 02:30 CEST
				time.Date(2026, 10, 26, 1, 30, 0, 0, time.UTC), // next day 02:30 CET; no second run at 01:30 UTC on the 25th
			},
		},
		{
			name: "FallBackRepeatedHourRunsAllSix",
			expr: "*/20 2 * * *",
			from: time.Date(2026, 10, 25, 1, 0, 0, 0, sto),
			want: []time.Time{
				time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC),
				time.Date(2026, 10, 25, 0, 20, 0, 0, time.UTC),
				time.Date(2026, 10, 25, 0, 40, 0, 0, time.UTC),
				time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC),
				time.Date(2026, 10, 25, 1, 20, 0, 0, time.UTC),
				time.Date(2026, 10, 25, 1, 40, 0, 0, time.UTC),
				time.Date(2026, 10, 26, 1, 0, 0, 0, time.UTC),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCheck(t, tt.expr, sto, tt.from, len(tt.want))
			for i := range tt.want {
				if !p.Next[i].Equal(tt.want[i]) {
					t.Errorf("Next[%d] = %v (%v), want %v", i, p.Next[i], p.Next[i].UTC(), tt.want[i])
				}
				if p.Next[i].Location() != sto {
					t.Errorf("Next[%d] in %v, want Europe/Stockholm", i, p.Next[i].Location())
				}
			}
		})
	}
}

// TestPreviewMatchesScheduler runs the real gocron scheduler on a fake clock
// and compares its NextRuns with the preview, so the page never promises a
// run the scheduler will not make.
func TestPreviewMatchesScheduler(t *testing.T) {
	sto := mustLoad(t, "Europe/Stockholm")
	tests := []struct {
		name string
		expr string
		now  time.Time
	}{
		{"DailyAcrossSpringForward", "30 2 * * *", time.Date(2026, 3, 27, 12, 0, 0, 0, sto)},
		{"DailyAcrossFallBack", "30 2 * * *", time.Date(2026, 10, 23, 12, 0, 0, 0, sto)},
		{"RepeatedHourAcrossFallBack", "*/20 2 * * *", time.Date(2026, 10, 24, 12, 0, 0, 0, sto)},
		{"Seconds", "*/7 * * * * *", time.Date(2026, 3, 27, 12, 0, 3, 0, sto)},
		{"CronTZ", "CRON_TZ=America/New_York 0 9 * * MON-FRI", time.Date(2026, 3, 27, 12, 0, 0, 0, sto)},
		{"LeapDay", "0 0 29 2 *", time.Date(2026, 3, 27, 12, 0, 0, 0, sto)},
		{"Every", "@every 15m", time.Date(2026, 3, 27, 12, 7, 0, 0, sto)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 8
			p := mustCheck(t, tt.expr, sto, tt.now, n)
			s, err := cronexpr.Parse(tt.expr, sto, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			clock := clockwork.NewFakeClockAt(tt.now)
			sched, err := gocron.NewScheduler(gocron.WithClock(clock), gocron.WithLocation(sto))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = sched.Shutdown() }()
			opts := []gocron.JobOption{}
			if !s.Align(tt.now).IsZero() {
				// As the scheduler package does for "@every".
				opts = append(opts, gocron.WithStartAt(gocron.WithStartDateTimePast(s.Align(tt.now))))
			}
			j, err := sched.NewJob(gocron.CronJob(p.Expr, true), gocron.NewTask(func() {}), opts...)
			if err != nil {
				t.Fatal(err)
			}
			sched.Start()
			got, err := j.NextRuns(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("gocron gave %d runs", len(got))
			}
			for i := range got {
				if !got[i].Equal(p.Next[i]) {
					t.Errorf("run %d: gocron %v, preview %v", i, got[i], p.Next[i])
				}
			}
		})
	}
}

func TestSlot(t *testing.T) {
	sto := mustLoad(t, "Europe/Stockholm")
	tests := []struct {
		name string
		expr string
		now  time.Time
		want time.Time
	}{
		{"DailyJustAfter", "30 2 * * *", time.Date(2026, 5, 4, 2, 30, 0, 40e6, sto), time.Date(2026, 5, 4, 2, 30, 0, 0, sto)},
		{"DailyClockBehindBySplitSecond", "30 2 * * *", time.Date(2026, 5, 4, 2, 30, 1, 900e6, sto), time.Date(2026, 5, 4, 2, 30, 0, 0, sto)},
		{"EverySecond", "* * * * * *", time.Date(2026, 5, 4, 2, 30, 7, 300e6, sto), time.Date(2026, 5, 4, 2, 30, 7, 0, sto)},
		{"EveryAligned", "@every 10m", time.Date(2026, 5, 4, 2, 34, 7, 0, time.UTC), time.Date(2026, 5, 4, 2, 30, 0, 0, time.UTC)},
		{"VeryLateFallsBackToNow", "30 2 * * *", time.Date(2026, 5, 4, 2, 45, 9, 500e6, sto), time.Date(2026, 5, 4, 2, 45, 9, 0, sto)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := cronexpr.Parse(tt.expr, sto, tt.now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Slot(tt.now); !got.Equal(tt.want) {
				t.Errorf("Slot(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

// TestStepWiderThanRange: robfig accepts */61 and runs it hourly while it
// reads "every 61 minutes"; the grammar refuses a step wider than the range
// it steps through, and describes a step that does not divide its range by
// the values it matches.
func TestStepWiderThanRange(t *testing.T) {
	for _, tt := range []struct{ expr, want string }{
		{"*/61 * * * *", "minute: step /61 is larger than the 60 values of 0–59 it steps through, so it would only ever match 0; use a step of at most 60"},
		{"*/61 * * * * *", "second: step /61 is larger than the 60 values of 0–59"},
		{"0 */24 * * *", ""},
		{"0 */25 * * *", "hour: step /25 is larger than the 24 values of 0–23"},
		{"0 0 */32 * *", "day-of-month: step /32 is larger than the 31 values of 1–31"},
		{"0 0 1 */13 *", "month: step /13 is larger than the 12 values of 1–12"},
		{"0 0 * * */8", "day-of-week: step /8 is larger than the 7 values of 0–6"},
		{"10-20/12 * * * *", "minute: step /12 is larger than the 11 values of 10–20"},
		{"10-20/11 * * * *", ""},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			p := cronexpr.Check(tt.expr, time.UTC, friday, 2)
			if !strings.HasPrefix(p.Error, tt.want) || p.Valid != (tt.want == "") {
				t.Errorf("Check = valid %v, %q; want %q…", p.Valid, p.Error, tt.want)
			}
		})
	}
	for expr, desc := range map[string]string{"*/45 * * * *": "At minute 0 and 45", "*/20 * * * *": "Every 20 minutes", "*/7 * * * * *": "At second 0, 7, 14, 21, 28, 35, 42, 49 and 56"} {
		if p := cronexpr.Check(expr, time.UTC, friday, 2); p.Description != desc {
			t.Errorf("%s described %q, want %q", expr, p.Description, desc)
		}
	}
}
