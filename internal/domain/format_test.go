package domain

import (
	"testing"
	"time"
)

func TestFormatTime(t *testing.T) {
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 7, 53, 23, 0, time.UTC)
	for _, tc := range []struct {
		name string
		t    time.Time
		loc  *time.Location
		want string
	}{
		{"UTC", at, time.UTC, "2026-12-01 07:53:23 UTC"},
		{"NilIsUTC", at, nil, "2026-12-01 07:53:23 UTC"},
		{"ConfiguredZone", at, stockholm, "2026-12-01 08:53:23 CET"},
		{"SummerTime", at.AddDate(0, -6, 0), stockholm, "2026-06-01 09:53:23 CEST"},
		{"Zero", time.Time{}, stockholm, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatTime(tc.t, tc.loc); got != tc.want {
				t.Errorf("FormatTime = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestZoneName(t *testing.T) {
	stockholm, _ := time.LoadLocation("Europe/Stockholm")
	at := time.Date(2026, 12, 1, 7, 53, 23, 0, time.UTC)
	local := time.FixedZone("Local", 0) // stands for time.Local named "Local"
	for _, tc := range []struct {
		name string
		loc  *time.Location
		want string
	}{
		{"Named", stockholm, "Europe/Stockholm"},
		{"UTC", time.UTC, "UTC"},
		{"LocalShowsItsAbbreviation", local, "Local"},
		{"Nil", nil, "UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ZoneName(tc.loc, at); got != tc.want {
				t.Errorf("ZoneName = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("ProcessLocal", func(t *testing.T) {
		abbr, _ := at.In(time.Local).Zone()
		if got := ZoneName(time.Local, at); got != abbr || got == "Local" {
			t.Errorf("ZoneName(time.Local) = %q, want the abbreviation %q", got, abbr)
		}
	})
}

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n         int
		one, many string
		want      string
	}{
		{1, "run", "", "1 run"},
		{0, "run", "", "0 runs"},
		{2, "run", "", "2 runs"},
		{1, "entry", "entries", "1 entry"},
		{15, "entry", "entries", "15 entries"},
	} {
		if got := Plural(tc.n, tc.one, tc.many); got != tc.want {
			t.Errorf("Plural(%d, %q, %q) = %q, want %q", tc.n, tc.one, tc.many, got, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{15 * time.Minute, "15 minutes"},
		{time.Minute, "1 minute"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{2*time.Second + 400*time.Millisecond, "2 seconds"},
		{250 * time.Millisecond, "250 ms"},
		{-time.Second, "0 ms"},
		{26*time.Hour + time.Second, "1 day 2 hours 1 second"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
