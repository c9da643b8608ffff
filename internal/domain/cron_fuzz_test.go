package domain_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"idm/internal/domain"
)

// everyPhrase is a description that promises a fixed gap between runs.
var everyPhrase = regexp.MustCompile(`^Every (\d+ )?(second|minute|hour)s?$`)

// FuzzParseCronExpression: the rule (ParseCronExpression) and the live
// check (CheckCronExpression) never panic and agree; whatever they accept
// fits its column as stored, is UTF-8 without NUL, runs again, has a
// description and next runs, and a description such as "Every 15
// minutes" is what the next runs do (a step larger than its field's range
// was once described "Every 61 minutes" and ran hourly).
func FuzzParseCronExpression(f *testing.F) {
	for _, s := range []string{
		"0 2 * * *", "*/15 * * * *", "*/61 * * * *", "*/60 * * * *", "30/45 * * * *", "@daily", "@every 90s",
		"CRON_TZ=Europe/Stockholm 30 1 * * 1-5", "TZ=UTC */7 * * * *", "0 0 30 2 *", "*/20 * * * * *",
		"\x00", "0 2 * * \xff", "0 */7 * * *", strings.Repeat("1,", 200) + "1 * * * *", "  0   2 * * *  ", "",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := domain.ParseCronExpression(expr, time.UTC, now)
		pv := domain.CheckCronExpression(expr, time.UTC, now, 5)
		if (err == nil) != pv.Valid || (err == nil) != (pv.Error == "") {
			t.Fatalf("the rule says %v, the live check valid=%v %q", err, pv.Valid, pv.Error)
		}
		if err != nil {
			if domain.ErrorMessage(err) == "" || !utf8.ValidString(domain.ErrorMessage(err)) {
				t.Fatalf("refused without a readable reason: %q", domain.ErrorMessage(err))
			}
			return
		}
		stored := s.Expr()
		if !utf8.ValidString(stored) || strings.ContainsRune(stored, 0) || utf8.RuneCountInString(stored) > domain.MaxCronExpressionLength {
			t.Fatalf("accepted %q, which the column cannot hold", stored)
		}
		if next := s.Next(now); !next.After(now) {
			t.Fatalf("accepted %q, which never runs again (next %v)", expr, next)
		}
		if s.Description() == "" || len(pv.Next) == 0 {
			t.Fatalf("accepted %q without a description (%q) or next runs (%v)", expr, s.Description(), pv.Next)
		}
		checkEveryIsTrue(t, expr, pv.Description, pv.Next, pv.Location)
	})
}

// checkEveryIsTrue: a description "Every N units" matches the gaps between
// next, in a zone without daylight saving time.
func checkEveryIsTrue(t *testing.T, expr, desc string, next []time.Time, loc *time.Location) {
	m := everyPhrase.FindStringSubmatch(desc)
	if m == nil || loc != time.UTC || len(next) < 2 {
		return
	}
	n := 1
	if m[1] != "" {
		n, _ = strconv.Atoi(strings.TrimSpace(m[1]))
	}
	unit := map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour}[m[2]]
	for i := 1; i < len(next); i++ {
		if gap := next[i].Sub(next[i-1]); gap != time.Duration(n)*unit {
			t.Fatalf("%q is described %q, but runs %v apart (%v, %v)", expr, desc, gap, next[i-1], next[i])
		}
	}
}
