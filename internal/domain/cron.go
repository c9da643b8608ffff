package domain

import (
	"time"

	"idm/internal/cronexpr"
)

// The cron rule. internal/cronexpr is its grammar (it needs gocron's parser
// for the final word, and imports nothing of ours); these functions are the
// rule every entry point calls: the schedule form and its live check, the
// scheduler, the Operator cache, the API. They add what holds for every
// stored value (no NUL byte, UTF-8, the column's width) and report the
// grammar's reasons as a field error at "expression".

// ParseCronExpression checks expr and returns its schedule, or FieldErrors
// at "expression" saying why not. loc is the zone for expressions without
// their own CRON_TZ= prefix; now decides whether it ever runs again.
func ParseCronExpression(expr string, loc *time.Location, now time.Time) (*cronexpr.Schedule, error) {
	if p := cronTextProblem(expr); p != "" {
		return nil, Invalid("expression", "%s", p)
	}
	s, err := cronexpr.Parse(expr, loc, now)
	if err != nil {
		return nil, Invalid("expression", "%s", err.Error())
	}
	return s, nil
}

// ValidateCronExpression is ParseCronExpression without the schedule.
func ValidateCronExpression(expr string, loc *time.Location, now time.Time) error {
	_, err := ParseCronExpression(expr, loc, now)
	return err
}

// CheckCronExpression is the live check of the Expression field: valid or
// the same reason ParseCronExpression gives, what it means, and its next n
// runs after now.
func CheckCronExpression(expr string, loc *time.Location, now time.Time, n int) cronexpr.Preview {
	if p := cronTextProblem(expr); p != "" {
		return cronexpr.Preview{Expr: cronexpr.Normalize(expr), Error: p}
	}
	return cronexpr.Check(expr, loc, now, n)
}

// cronTextProblem checks what the grammar does not: the expression is text
// that fits its column once normalised as it is stored.
func cronTextProblem(expr string) string {
	p := encodingProblem(expr)
	if p == "" {
		p = lengthProblem(cronexpr.Normalize(expr), MaxCronExpressionLength)
	}
	if p == "" {
		return ""
	}
	return "the expression " + p
}
