package domain

import (
	"strconv"
	"time"
)

// Active Directory keeps the moment an account stops working in
// accountExpires, as a FILETIME: 100-nanosecond intervals since
// 1601-01-01 UTC. 0 and NeverExpires both mean that it never expires.
const NeverExpires int64 = 0x7FFFFFFFFFFFFFFF

// fileTimeEpoch is 1601-01-01 UTC in Unix seconds.
const fileTimeEpoch = -11644473600

// FileTime is t as an Active Directory FILETIME.
func FileTime(t time.Time) int64 {
	return (t.Unix()-fileTimeEpoch)*10_000_000 + int64(t.Nanosecond()/100)
}

// ActiveDirectoryPresetNote says on the LDAP connection page what the
// Active Directory preset decides beyond its filters' text.
const ActiveDirectoryPresetNote = "Active Directory: people only (no computer accounts, and none of the critical system objects such as Administrator, Guest and krbtgt); " +
	"disabled by bit 2 of userAccountControl; and an account whose accountExpires has passed counts as inactive, checked at each run."

// AccountExpiresApplies reports whether accounts past their accountExpires
// count as inactive: with the Active Directory preset, whose directory
// keeps that attribute (and checks it at every logon).
func (s *LDAPSettings) AccountExpiresApplies() bool { return s.Preset == PresetActiveDirectory }

// JobFilters are the filters the active and the inactive job search with
// at time now. They are the configured filters, except that when
// accountExpires applies, an entry the active filter matches but whose
// account expired at or before now moves from the active job's result to
// the inactive job's:
//
//	active:   (&ACTIVE(|(accountExpires=0)(accountExpires>=now+1)(!(accountExpires=*))))
//	inactive: (|INACTIVE(&ACTIVE(accountExpires>=1)(accountExpires<=now)))
//
// NeverExpires is above any now, so it needs no term of its own. The
// directory decides, so every count, page and check of a run sees the same
// people: a run computes its filters once, from the engine's clock, and
// the inactive job's planning pass and write pass share them.
func (s *LDAPSettings) JobFilters(now time.Time) (active, inactive string) {
	if !s.AccountExpiresApplies() {
		return s.ActiveFilter, s.InactiveFilter
	}
	ft := FileTime(now)
	active = "(&" + s.ActiveFilter + "(|(accountExpires=0)(accountExpires>=" + strconv.FormatInt(ft+1, 10) + ")(!(accountExpires=*))))"
	inactive = "(|" + s.InactiveFilter + "(&" + s.ActiveFilter + "(accountExpires>=1)(accountExpires<=" + strconv.FormatInt(ft, 10) + ")))"
	return active, inactive
}

// JobFilter is the filter job searches with at time now (see JobFilters).
func (s *LDAPSettings) JobFilter(job JobKey, now time.Time) string {
	active, inactive := s.JobFilters(now)
	if job == JobInactive {
		return inactive
	}
	return active
}
