package domain

import (
	"strconv"
	"strings"
	"time"
)

// TimeLayout is how every page, message and export shows a moment:
// "2026-12-01 07:53:23 UTC", in the configured zone.
const TimeLayout = "2006-01-02 15:04:05 MST"

// FormatTime shows t in loc (UTC when loc is nil) as TimeLayout; the zero
// time is "".
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(TimeLayout)
}

// ZoneName names loc as people read it at t: its IANA name, or for the
// process's own zone ("Local") the abbreviation in force then ("UTC", "CET").
func ZoneName(loc *time.Location, t time.Time) string {
	if loc == nil {
		return "UTC"
	}
	if name := loc.String(); name != "Local" && name != "" {
		return name
	}
	abbr, _ := t.In(loc).Zone()
	return abbr
}

// Plural counts n of a thing: "1 run", "2 runs", "0 entries". many is the
// plural form; "" adds an s to one.
func Plural(n int, one, many string) string {
	if many == "" {
		many = one + "s"
	}
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// FormatDuration says how long d is in words, to the second: "15 minutes",
// "1 hour 30 minutes", "2 seconds"; under a second in milliseconds ("250 ms").
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Second {
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
	}
	d = d.Round(time.Second)
	var parts []string
	for _, u := range []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if n := int(d / u.size); n > 0 {
			parts = append(parts, Plural(n, u.name, ""))
			d -= time.Duration(n) * u.size
		}
	}
	return strings.Join(parts, " ")
}
