// Package cronexpr is the cron grammar of the batch jobs: it parses an
// expression, describes it in plain language and previews its next runs.
// It depends on nothing of the program: the rule every entry point calls is
// domain.ParseCronExpression (and domain.CheckCronExpression for the live
// check), which adds the limits that hold for every stored value (length,
// NUL bytes, UTF-8) and returns this package's reasons as field errors.
//
// What it accepts is what the scheduler accepts: the final word on validity
// is gocron's own parser (gocron.NewDefaultCron(true), i.e. robfig/cron with
// optional seconds and descriptors). This package adds person-readable
// reasons on top, and is slightly stricter in a few places where robfig would
// silently reinterpret a mistake (see Check). The scheduler validates through
// the same domain rule, so what the form accepts is exactly what gets
// scheduled.
package cronexpr

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/go-co-op/gocron/v2"
)

// Preview is the result of checking an expression: whether it is valid, why
// not, what it means and when it runs next.
type Preview struct {
	// Expr is the normalised expression (trimmed, single spaces): store and
	// schedule this form.
	Expr        string
	Valid       bool
	Error       string // person-readable reason when not valid
	Description string // plain language, e.g. "Every day at 02:30"
	Next        []time.Time
	// MinInterval is the smallest gap between consecutive runs in Next,
	// for warning that runs may come closer together than a run lasts.
	MinInterval time.Duration
	// Location is the time zone the expression is evaluated in: its own
	// CRON_TZ=/TZ= prefix, or the location passed to Check.
	Location *time.Location
}

// Schedule is a checked expression that computes run times exactly as the
// scheduler does (gocron's cron job semantics, including its handling of
// the repeated hour when clocks go back).
type Schedule struct {
	expr  string
	cron  gocron.Cron
	every time.Duration // > 0 for "@every d"
	loc   *time.Location
	desc  string
}

// Expr is the normalised expression.
func (s *Schedule) Expr() string { return s.expr }

// Every is the interval of an "@every" expression, or 0.
func (s *Schedule) Every() time.Duration { return s.every }

// Location is the time zone the expression is evaluated in.
func (s *Schedule) Location() *time.Location { return s.loc }

// Description is the expression in plain language.
func (s *Schedule) Description() string { return s.desc }

// Next returns the first run strictly after last, or the zero time if there
// is none within robfig's search horizon (five years). Like gocron, when
// the clocks go back and the same wall-clock time comes round again, the
// repeat is skipped so a daily job runs once that day.
func (s *Schedule) Next(last time.Time) time.Time {
	if s.every > 0 {
		// The scheduler aligns "@every" runs to multiples of the interval
		// (see Align), so that every instance of a cluster computes the same
		// slots.
		return last.Truncate(s.every).Add(s.every)
	}
	next := s.cron.Next(last)
	if next.IsZero() {
		return next
	}
	// Compared as gocron compares them: each in its own location.
	if sameWallClock(last, next) {
		return s.cron.Next(next)
	}
	return next
}

// Align is the time from which the scheduler counts an "@every" schedule:
// the latest multiple of the interval at or before now (multiples counted
// from the zero time, so whole hours and days line up with UTC). For cron
// expressions it returns the zero time.
func (s *Schedule) Align(now time.Time) time.Time {
	if s.every <= 0 {
		return time.Time{}
	}
	return now.Truncate(s.every)
}

// Slot returns the scheduled time a run that starts at now belongs to: the
// latest run time at or before now. Every instance of a cluster computes the
// same slot for the same scheduled run even if their clocks differ a little,
// which is what lets a compare-and-set on the slot stop a second run.
// When no run time lies in the two minutes before now (a very late start),
// now truncated to the second is the slot.
func (s *Schedule) Slot(now time.Time) time.Time {
	if s.every > 0 {
		return now.Truncate(s.every)
	}
	const window = 2 * time.Minute
	slot := time.Time{}
	for t := s.cron.Next(now.Add(-window)); !t.IsZero() && !t.After(now); t = s.cron.Next(t) {
		slot = t
	}
	if slot.IsZero() {
		return now.Truncate(time.Second)
	}
	return slot
}

// Parse checks expr and returns its schedule, or an error whose text is a
// person-readable reason. loc is the time zone for expressions without
// their own CRON_TZ= prefix (nil means UTC); now is when the check happens,
// which decides whether the expression ever runs again. Entry points call
// domain.ParseCronExpression, which calls this.
func Parse(expr string, loc *time.Location, now time.Time) (*Schedule, error) {
	return parse(expr, loc, now)
}

// Check validates expr and, when valid, describes it and lists its next n
// runs after now in its time zone.
func Check(expr string, loc *time.Location, now time.Time, n int) Preview {
	p := Preview{Expr: Normalize(expr)}
	s, err := parse(expr, loc, now)
	if err != nil {
		p.Error = err.Error()
		return p
	}
	p.Valid, p.Description, p.Location = true, s.desc, s.loc
	// The scheduler computes from its clock in its location.
	t := now.In(loc)
	if loc == nil {
		t = now.UTC()
	}
	if s.every > 0 {
		t = s.Align(now)
	}
	for range n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		p.Next = append(p.Next, t.In(s.loc))
	}
	for i := 1; i < len(p.Next); i++ {
		if gap := p.Next[i].Sub(p.Next[i-1]); p.MinInterval == 0 || gap < p.MinInterval {
			p.MinInterval = gap
		}
	}
	return p
}

// Normalize trims expr and collapses runs of spaces to one, the form that is
// stored and scheduled.
func Normalize(expr string) string {
	return strings.Join(strings.Fields(expr), " ")
}

var descriptors = map[string]string{
	"@yearly":   "0 0 0 1 1 *",
	"@annually": "0 0 0 1 1 *",
	"@monthly":  "0 0 0 1 * *",
	"@weekly":   "0 0 0 * * 0",
	"@daily":    "0 0 0 * * *",
	"@midnight": "0 0 0 * * *",
	"@hourly":   "0 0 * * * *",
}

// parse does the work of Parse: the time zone prefix, then a descriptor or
// the fields, then gocron's own parser as the final word.
func parse(expr string, loc *time.Location, now time.Time) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	for _, r := range expr {
		if r != ' ' && r != '\t' && (unicode.IsControl(r) || !unicode.IsPrint(r)) {
			return nil, errors.New("the expression contains a line break or an invisible character")
		}
	}
	norm := Normalize(expr)
	if norm == "" {
		return nil, errors.New("enter a cron expression, for example 0 2 * * * (every day at 02:00)")
	}
	s := &Schedule{expr: norm, loc: loc}
	rest, tzName, err := s.timeZone(norm)
	if err != nil {
		return nil, err
	}
	var fields []*field
	if strings.HasPrefix(rest, "@") {
		fields, err = s.descriptor(rest)
	} else {
		fields, err = parseWords(strings.Fields(rest))
	}
	if err != nil {
		return nil, err
	}

	// The final word: gocron's own parser, with the location the scheduler
	// passes. It panics on some inputs we have already refused above (a
	// CRON_TZ= prefix with nothing after it), so guard anyway.
	c := gocron.NewDefaultCron(true)
	if err := isValid(c, norm, loc, now); err != nil {
		if errors.Is(err, gocron.ErrCronJobInvalid) && fields != nil {
			return nil, errors.New(neverRuns(fields))
		}
		if errors.Is(err, gocron.ErrCronJobInvalid) {
			return nil, errors.New("never runs within the next five years")
		}
		return nil, fmt.Errorf("the scheduler refuses it: %s", robfigReason(err))
	}
	s.cron = c
	if fields != nil {
		s.desc = describe(fields, descriptorName(rest))
	}
	if tzName != "" {
		s.desc += " (" + tzName + " time)"
	}
	return s, nil
}

// timeZone reads a CRON_TZ= or TZ= prefix into s.loc; it returns the rest
// of the expression and the zone's name ("" without a prefix).
func (s *Schedule) timeZone(norm string) (rest, tzName string, err error) {
	if !strings.HasPrefix(norm, "TZ=") && !strings.HasPrefix(norm, "CRON_TZ=") {
		if up := strings.ToUpper(norm); strings.HasPrefix(up, "TZ=") || strings.HasPrefix(up, "CRON_TZ=") {
			return "", "", errors.New("write the time zone prefix in capitals: CRON_TZ=Area/City or TZ=Area/City")
		}
		return norm, "", nil
	}
	prefix, after, found := strings.Cut(norm, " ")
	if !found || after == "" {
		return "", "", fmt.Errorf("nothing after %s: add the schedule, for example %s 0 2 * * *", prefix, prefix)
	}
	_, tzName, _ = strings.Cut(prefix, "=")
	if tzName == "" {
		return "", "", fmt.Errorf("%s names no time zone: write for example CRON_TZ=Europe/Stockholm", prefix)
	}
	l, err := time.LoadLocation(tzName)
	if err != nil || tzName == "Local" {
		return "", "", fmt.Errorf("unknown time zone %q: use an IANA name such as Europe/Stockholm or UTC", tzName)
	}
	s.loc = l
	return after, tzName, nil
}

// descriptor reads "@every d" into s, or a named descriptor into its fields.
func (s *Schedule) descriptor(rest string) ([]*field, error) {
	word, arg, _ := strings.Cut(rest, " ")
	switch {
	case word == "@every":
		d, err := time.ParseDuration(arg)
		switch {
		case arg == "":
			return nil, errors.New("@every needs an interval, for example @every 15m or @every 1h30m")
		case err != nil:
			return nil, fmt.Errorf("@every: %q is not an interval; write for example 90s, 15m or 1h30m", arg)
		case d < time.Second:
			return nil, fmt.Errorf("@every: %s is too short; the shortest interval is 1s", arg)
		case d%time.Second != 0:
			return nil, fmt.Errorf("@every: %s is not a whole number of seconds", arg)
		}
		s.every, s.desc = d, describeEvery(d)
		return nil, nil
	case descriptors[word] != "":
		if arg != "" {
			return nil, fmt.Errorf("%s takes nothing after it (found %q)", word, arg)
		}
		return parseFields(strings.Fields(descriptors[word]))
	}
	return nil, fmt.Errorf("unknown descriptor %s: use @yearly, @monthly, @weekly, @daily, @hourly or @every 15m", word)
}

// parseWords parses five fields (seconds 0 is implied) or six.
func parseWords(words []string) ([]*field, error) {
	switch len(words) {
	case 5:
		words = append([]string{"0"}, words...)
	case 6:
	case 7:
		return nil, errors.New("expected 5 or 6 fields, got 7: the Quartz year field (the 7th) is not supported; remove it")
	default:
		return nil, fmt.Errorf("expected 5 or 6 fields, got %d: minute hour day-of-month month day-of-week, optionally preceded by second", len(words))
	}
	return parseFields(words)
}

func isValid(c gocron.Cron, expr string, loc *time.Location, now time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cron parser failed: %v", r)
		}
	}()
	return c.IsValid(expr, loc, now)
}

// robfigReason keeps the parser's own explanation, without gocron's prefix.
func robfigReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	return msg
}

func descriptorName(rest string) string {
	if strings.HasPrefix(rest, "@") {
		return rest
	}
	return ""
}

func parseFields(words []string) ([]*field, error) {
	specs := []fieldSpec{secondSpec, minuteSpec, hourSpec, domSpec, monthSpec, dowSpec}
	fields := make([]*field, len(specs))
	for i, spec := range specs {
		f, err := parseField(words[i], spec)
		if err != nil {
			return nil, err
		}
		fields[i] = f
	}
	return fields, nil
}

// neverRuns explains why a well-formed expression has no run: usually a day
// of the month that the chosen months do not have.
func neverRuns(f []*field) string {
	dom, month, dow := f[3], f[4], f[5]
	// robfig combines day-of-month and day-of-week with OR when both are
	// restricted, so only a restricted day-of-month with any day-of-week
	// can rule out every day.
	if !dom.any && dow.any {
		first := 0
		for d := 1; d <= 31; d++ {
			if dom.set[d] {
				first = d
				break
			}
		}
		var months []string
		for m := 1; m <= 12; m++ {
			if month.set[m] {
				months = append(months, monthNames[m])
			}
		}
		if first > 0 && len(months) > 0 {
			verb := "has"
			if len(months) > 1 {
				verb = "have"
			}
			return fmt.Sprintf("never runs: %s %s no %s day", joinAnd(months), verb, ordinal(first))
		}
	}
	return "never runs within the next five years"
}
