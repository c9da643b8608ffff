package cronexpr

import (
	"fmt"
	"strconv"
	"strings"
)

// fieldSpec describes one position of a cron expression: its name as a person
// reads it, its bounds and the names it accepts (as robfig/cron, which gocron
// uses underneath, accepts them: case-insensitive three-letter names).
type fieldSpec struct {
	name     string
	min, max int
	names    map[string]int
	hint     string // added to out-of-range messages
}

var (
	// These are read-only tables, not mutable state.
	secondSpec = fieldSpec{name: "second", min: 0, max: 59}
	minuteSpec = fieldSpec{name: "minute", min: 0, max: 59}
	hourSpec   = fieldSpec{name: "hour", min: 0, max: 23}
	domSpec    = fieldSpec{name: "day-of-month", min: 1, max: 31}
	monthSpec  = fieldSpec{name: "month", min: 1, max: 12, names: map[string]int{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	}}
	dowSpec = fieldSpec{name: "day-of-week", min: 0, max: 6, hint: " (0 or SUN is Sunday)", names: map[string]int{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
	}}
)

var monthNames = [...]string{"", "January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December"}

var dayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// part is one comma-separated element of a field: start-end/step.
type part struct {
	start, end, step int
	star             bool // written as * or ?
	rangeWritten     bool // written as a-b (not a single value)
	stepWritten      bool
}

// field is a parsed field: its parts and the set of values it matches.
type field struct {
	spec  fieldSpec
	raw   string
	parts []part
	set   []bool // index = value
	// any is true when the field matches every value with no step: robfig's
	// "star bit", which decides how day-of-month and day-of-week combine.
	any bool
}

// parseField parses one field the way robfig/cron does, but reports errors
// a person can act on. It is deliberately a little stricter than robfig:
// it refuses forms robfig silently reinterprets (a "?" outside the day
// fields, "*-5").
func parseField(raw string, spec fieldSpec) (*field, error) {
	f := &field{spec: spec, raw: raw, set: make([]bool, spec.max+1)}
	if raw == "" {
		return nil, fmt.Errorf("%s: empty", spec.name)
	}
	for _, p := range strings.Split(raw, ",") {
		pt, err := parsePart(p, spec)
		if err != nil {
			return nil, err
		}
		f.parts = append(f.parts, pt)
		for v := pt.start; v <= pt.end; v += pt.step {
			f.set[v] = true
		}
		if pt.star && pt.step == 1 {
			f.any = true
		}
	}
	return f, nil
}

func parsePart(p string, spec fieldSpec) (part, error) {
	name := spec.name
	if p == "" {
		return part{}, fmt.Errorf("%s: empty item in the list (two commas, or a comma at an end)", name)
	}
	pt := part{step: 1}
	rangeAndStep := strings.Split(p, "/")
	if len(rangeAndStep) > 2 {
		return part{}, fmt.Errorf("%s: %q has more than one /", name, p)
	}
	lowHigh := strings.Split(rangeAndStep[0], "-")
	switch {
	case len(lowHigh) > 2:
		return part{}, fmt.Errorf("%s: %q has more than one -", name, p)
	case lowHigh[0] == "*" || lowHigh[0] == "?":
		if len(lowHigh) == 2 {
			return part{}, fmt.Errorf("%s: %q: a range cannot start with %s", name, p, lowHigh[0])
		}
		if lowHigh[0] == "?" && name != domSpec.name && name != dowSpec.name {
			return part{}, fmt.Errorf("%s: ? is only allowed in day-of-month and day-of-week", name)
		}
		pt.star, pt.start, pt.end = true, spec.min, spec.max
	default:
		v, err := parseValue(lowHigh[0], spec)
		if err != nil {
			return part{}, err
		}
		pt.start, pt.end = v, v
		if len(lowHigh) == 2 {
			if pt.end, err = parseValue(lowHigh[1], spec); err != nil {
				return part{}, err
			}
			pt.rangeWritten = true
		}
	}
	if len(rangeAndStep) == 2 {
		s, err := strconv.Atoi(rangeAndStep[1])
		if err != nil || s <= 0 {
			return part{}, fmt.Errorf("%s: step /%s must be a whole number above 0", name, rangeAndStep[1])
		}
		pt.step, pt.stepWritten = s, true
		if !pt.star && !pt.rangeWritten {
			// robfig reads "a/n" as "from a to the maximum, every n".
			pt.end = spec.max
		}
	}
	if pt.start > pt.end {
		return part{}, fmt.Errorf("%s: range %s runs backwards; write the smaller value first", name, rangeAndStep[0])
	}
	// robfig accepts */61 and matches the start alone, which reads as
	// "every 61 minutes" but runs hourly: refuse a step wider than its range.
	if span := pt.end - pt.start + 1; pt.step > span {
		return part{}, fmt.Errorf("%s: step /%d is larger than the %d values of %d–%d it steps through, so it would only ever match %d; use a step of at most %d",
			name, pt.step, span, pt.start, pt.end, pt.start, span)
	}
	return pt, nil
}

func parseValue(s string, spec fieldSpec) (int, error) {
	if v, ok := spec.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || strings.HasPrefix(s, "+") {
		if (spec.name == domSpec.name || spec.name == dowSpec.name) && strings.ContainsAny(strings.ToUpper(s), "LW#") {
			return 0, fmt.Errorf("%s: %q uses L, W or #, Quartz features this scheduler does not support", spec.name, s)
		}
		if spec.names != nil {
			return 0, fmt.Errorf("%s: %q is not a number or a name (%s)", spec.name, s, nameRange(spec))
		}
		return 0, fmt.Errorf("%s: %q is not a number", spec.name, s)
	}
	if v < spec.min || v > spec.max {
		return 0, fmt.Errorf("%s: %d is out of range %d–%d%s", spec.name, v, spec.min, spec.max, spec.hint)
	}
	return v, nil
}

func nameRange(spec fieldSpec) string {
	if spec.name == monthSpec.name {
		return "JAN–DEC"
	}
	return "SUN–SAT"
}
