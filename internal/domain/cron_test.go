package domain_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
)

func TestParseCronExpression(t *testing.T) {
	now := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	// A valid expression longer than the column: every second listed.
	var secs []string
	for i := range 60 {
		secs = append(secs, strings.Repeat("0", 3)+string(rune('0'+i%10)))
	}
	long := strings.Join(secs, ",") + " 0 2 * * *"
	tests := []struct{ name, expr, want string }{
		{"OK", "0 2 * * *", ""},
		{"OKStepAsWideAsItsRange", "*/60 * * * *", ""},
		{"OKLongestThatFits", "0 2 * * *" + strings.Repeat(" ", 300), ""},
		{"ErrStepLargerThanRange", "*/61 * * * *", "minute: step /61 is larger than the 60 values of 0–59 it steps through, so it would only ever match 0; use a step of at most 60"},
		{"ErrStepLargerThanItsRange", "0 0 1-5/6 * *", "day-of-month: step /6 is larger than the 5 values of 1–5"},
		{"ErrStepFromValue", "30/45 * * * *", "minute: step /45 is larger than the 30 values of 30–59"},
		{"ErrHourStep", "0 */25 * * *", "hour: step /25 is larger than the 24 values of 0–23"},
		{"ErrNUL", "0 2 * * *\x00", "the expression contains a NUL byte"},
		{"ErrInvalidUTF8", "0 2 * * \xff", "the expression is not valid UTF-8 text"},
		{"ErrOverlong", long, fmt.Sprintf("the expression is %d characters long; at most 256 fit", len(long))},
		{"ErrGrammar", "61 * * * *", "minute: 61 is out of range 0–59"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := domain.ParseCronExpression(tc.expr, time.UTC, now)
			p := domain.CheckCronExpression(tc.expr, time.UTC, now, 3)
			if tc.want == "" {
				if err != nil || !p.Valid || s == nil {
					t.Fatalf("err = %v, preview %+v", err, p)
				}
				return
			}
			fe := fieldErrors(t, err)
			if s != nil || len(fe) != 1 || fe[0].Field != "expression" || !strings.HasPrefix(fe[0].Message, tc.want) {
				t.Fatalf("errors %+v, want at expression %q…", fe, tc.want)
			}
			if p.Valid || p.Error != fe[0].Message {
				t.Errorf("the live check says %q, the rule %q: they must agree", p.Error, fe[0].Message)
			}
			if domain.ErrorMessage(err) != fe[0].Message {
				t.Errorf("ErrorMessage %q, want the message alone (the scheduler stores it)", domain.ErrorMessage(err))
			}
		})
	}
	t.Run("UnevenStepDescribedTruthfully", func(t *testing.T) {
		p := domain.CheckCronExpression("*/45 * * * *", time.UTC, now, 3)
		if p.Description != "At minute 0 and 45" {
			t.Errorf("description %q, want the minutes it runs at", p.Description)
		}
	})
}
