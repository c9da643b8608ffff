package cronexpr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// describe puts a parsed six-field expression (second first) into plain
// language. It aims at the common shapes ("Every day at 02:30", "Every 15
// minutes", "At minute 0 past every hour") and falls back to a field-by-field
// sentence for the rest; the next-run list on the page is the exact answer.
func describe(f []*field, descriptor string) string {
	switch descriptor {
	case "@yearly", "@annually":
		return "Every year on 1 January at 00:00"
	case "@monthly":
		return "On day 1 of every month at 00:00"
	case "@weekly":
		return "Every Sunday at 00:00"
	case "@daily", "@midnight":
		return "Every day at 00:00"
	case "@hourly":
		return "At minute 0 past every hour"
	}
	sec, minute, hour := f[0], f[1], f[2]
	days := dayPhrase(f[3], f[5])
	months := monthPhrase(f[4])

	if times, ok := fixedTimes(sec, minute, hour); ok {
		at := " at " + joinAnd(times)
		switch {
		case days == "" && months == "":
			return "Every day" + at
		case days == "":
			return "Every day " + months + at
		case strings.Contains(days, " or "):
			if months != "" {
				return capitalize(days) + ", " + months + at
			}
			return capitalize(days) + at
		case strings.HasPrefix(days, "on day"):
			if months == "" {
				return capitalize(days) + " of every month" + at
			}
			return capitalize(days) + " " + months + at
		default: // weekdays
			s := "Every " + strings.TrimPrefix(days, "on ")
			if months != "" {
				s += " " + months
			}
			return s + at
		}
	}

	var clauses []string
	zeroSec := isSingle(sec, 0)
	switch {
	case sec.any:
		clauses = append(clauses, "every second")
	case zeroSec:
	default:
		clauses = append(clauses, fieldPhrase(sec, "second"))
	}
	switch {
	case minute.any && zeroSec:
		clauses = append(clauses, "every minute")
	case minute.any:
	default:
		clauses = append(clauses, fieldPhrase(minute, "minute"))
	}
	switch {
	case hour.any && !minute.any && minute.singles() && zeroSec:
		clauses = append(clauses, "past every hour")
	case hour.any:
	case isStep(hour):
		clauses = append(clauses, fmt.Sprintf("past every %s hour", ordinal(hour.parts[0].step)))
	default:
		clauses = append(clauses, "during hour "+listPhrase(hour, "hour"))
	}
	if days != "" {
		clauses = append(clauses, days)
	}
	if months != "" {
		clauses = append(clauses, months)
	}
	// "at minute 0 past every hour" reads better without a comma.
	s := strings.Join(clauses, ", ")
	s = strings.ReplaceAll(s, ", past every", " past every")
	return capitalize(s)
}

func describeEvery(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return "Every " + plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return "Every " + plural(int(d/time.Minute), "minute")
	case d < 10*time.Minute:
		return "Every " + plural(int(d/time.Second), "second")
	}
	return "Every " + d.String()
}

// fixedTimes lists the times of day when second, minute and hour are plain
// values (at most six combinations), formatted HH:MM or HH:MM:SS.
func fixedTimes(sec, minute, hour *field) ([]string, bool) {
	if !sec.singles() || !minute.singles() || !hour.singles() {
		return nil, false
	}
	ss, ms, hs := sec.values(), minute.values(), hour.values()
	if len(ss)*len(ms)*len(hs) > 6 {
		return nil, false
	}
	var out []string
	for _, h := range hs {
		for _, m := range ms {
			for _, s := range ss {
				if s == 0 && len(ss) == 1 {
					out = append(out, fmt.Sprintf("%02d:%02d", h, m))
				} else {
					out = append(out, fmt.Sprintf("%02d:%02d:%02d", h, m, s))
				}
			}
		}
	}
	return out, true
}

func dayPhrase(dom, dow *field) string {
	var domS, dowS string
	if !dom.any {
		if dom.singles() || len(dom.values()) > 10 {
			domS = "on day " + listPhrase(dom, "day")
		} else {
			// Steps read badly in words; the days themselves do not.
			var days []string
			for _, d := range dom.values() {
				days = append(days, strconv.Itoa(d))
			}
			domS = "on day " + joinAnd(days)
		}
	}
	if !dow.any {
		dowS = "on " + weekdayPhrase(dow)
	}
	switch {
	case domS != "" && dowS != "":
		// robfig runs on either when both are restricted.
		return domS + " of the month or " + dowS
	case domS != "":
		return domS
	}
	return dowS
}

func weekdayPhrase(f *field) string {
	var items []string
	for _, p := range f.parts {
		switch {
		case p.star && p.step > 1, p.stepWritten:
			var days []string
			for d := p.start; d <= p.end; d += p.step {
				days = append(days, dayNames[d])
			}
			items = append(items, joinAnd(days))
		case p.start == p.end:
			items = append(items, dayNames[p.start])
		default:
			items = append(items, dayNames[p.start]+" through "+dayNames[p.end])
		}
	}
	return joinAnd(items)
}

func monthPhrase(f *field) string {
	if f.any {
		return ""
	}
	var items []string
	for _, p := range f.parts {
		switch {
		case p.star && p.step > 1, p.stepWritten:
			var ms []string
			for m := p.start; m <= p.end; m += p.step {
				ms = append(ms, monthNames[m])
			}
			items = append(items, joinAnd(ms))
		case p.start == p.end:
			items = append(items, monthNames[p.start])
		default:
			items = append(items, monthNames[p.start]+" through "+monthNames[p.end])
		}
	}
	return "in " + joinAnd(items)
}

// fieldPhrase describes a time field: "every 15 minutes", "at minute 0 and 30".
func fieldPhrase(f *field, unit string) string {
	if isStep(f) {
		if p := f.parts[0]; (p.end-p.start+1)%p.step == 0 {
			return "every " + plural(p.step, unit)
		}
		// "Every 45 minutes" would be untrue: from 45 the next run is at
		// 0, fifteen minutes later. Name the values instead.
		var vs []string
		for _, v := range f.values() {
			vs = append(vs, strconv.Itoa(v))
		}
		return "at " + unit + " " + joinAnd(vs)
	}
	return "at " + unit + " " + listPhrase(f, unit)
}

func listPhrase(f *field, unit string) string {
	var items []string
	for _, p := range f.parts {
		switch {
		case p.star && p.step > 1:
			items = append(items, "every "+ordinal(p.step))
		case p.stepWritten:
			items = append(items, fmt.Sprintf("every %s %s from %d through %d", ordinal(p.step), unit, p.start, p.end))
		case p.start == p.end:
			items = append(items, strconv.Itoa(p.start))
		default:
			items = append(items, fmt.Sprintf("%d through %d", p.start, p.end))
		}
	}
	return joinAnd(items)
}

func isStep(f *field) bool {
	return len(f.parts) == 1 && f.parts[0].star && f.parts[0].step > 1
}

func isSingle(f *field, v int) bool {
	return len(f.parts) == 1 && !f.parts[0].star && !f.parts[0].stepWritten && f.parts[0].start == v && f.parts[0].end == v
}

// singles reports whether the field is a list of plain values.
func (f *field) singles() bool {
	for _, p := range f.parts {
		if p.star || p.stepWritten || p.start != p.end {
			return false
		}
	}
	return true
}

func (f *field) values() []int {
	var out []int
	for v, ok := range f.set {
		if ok {
			out = append(out, v)
		}
	}
	return out
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sameWallClock(a, b time.Time) bool {
	return a.Year() == b.Year() && a.Month() == b.Month() && a.Day() == b.Day() &&
		a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second()
}
