package domain

import (
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func TestFileTime(t *testing.T) {
	for _, tt := range []struct {
		name string
		t    time.Time
		want int64
	}{
		{"Epoch1601", time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{"UnixEpoch", time.Unix(0, 0), 116444736000000000},
		// As PowerShell's [DateTime]::FromFileTimeUtc(133485408000000000).
		{"NewYear2024", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 133485408000000000},
		{"HundredNanosecondTicks", time.Date(2024, 1, 1, 0, 0, 0, 1234567, time.UTC), 133485408000012345},
		{"ZoneIgnored", time.Date(2024, 1, 1, 2, 0, 0, 0, time.FixedZone("EET", 2*3600)), 133485408000000000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := FileTime(tt.t); got != tt.want {
				t.Fatalf("FileTime(%s) = %d, want %d", tt.t, got, tt.want)
			}
		})
	}
}

func TestJobFilters(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // FILETIME 133485408000000000
	ad := DefaultLDAPSettings()
	if err := ad.ApplyPreset(PresetActiveDirectory); err != nil {
		t.Fatal(err)
	}
	custom := ad
	custom.ActiveFilter, custom.InactiveFilter = "(&(a=1)(memberOf:1.2.840.113556.1.4.1941:=CN=G,DC=x))", "(b=2)"
	for _, tt := range []struct {
		name                  string
		s                     LDAPSettings
		wantActive, wantInact string
	}{
		{"OpenLDAPAsConfigured", DefaultLDAPSettings(), DefaultLDAPSettings().ActiveFilter, DefaultLDAPSettings().InactiveFilter},
		{"ADExpiredMovesToInactive", custom,
			"(&(&(a=1)(memberOf:1.2.840.113556.1.4.1941:=CN=G,DC=x))(|(accountExpires=0)(accountExpires>=133485408000000001)(!(accountExpires=*))))",
			"(|(b=2)(&(&(a=1)(memberOf:1.2.840.113556.1.4.1941:=CN=G,DC=x))(accountExpires>=1)(accountExpires<=133485408000000000)))"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			active, inactive := tt.s.JobFilters(now)
			if active != tt.wantActive || inactive != tt.wantInact {
				t.Fatalf("JobFilters =\n %s\n %s\nwant\n %s\n %s", active, inactive, tt.wantActive, tt.wantInact)
			}
			for _, f := range []string{active, inactive} {
				if _, err := ldap.CompileFilter(f); err != nil {
					t.Errorf("%s does not compile: %v", f, err)
				}
			}
			if tt.s.JobFilter(JobActive, now) != active || tt.s.JobFilter(JobInactive, now) != inactive {
				t.Error("JobFilter differs from JobFilters")
			}
		})
	}
	t.Run("ADPresetLeavesOutSystemObjectsAndComputers", func(t *testing.T) {
		for _, f := range []string{ad.ActiveFilter, ad.InactiveFilter} {
			if !strings.Contains(f, "(!(isCriticalSystemObject=TRUE))") || !strings.Contains(f, "(!(objectClass=computer))") {
				t.Errorf("preset filter %s", f)
			}
		}
	})
}

func TestDeactivationLimit(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		maxUsers, maxPercent int
		active, want         int
	}{
		{"ShareOfManyUsers", 500, 10, 2000, 200},
		{"AbsoluteLimitLower", 50, 10, 2000, 50},
		{"SmallOrganisationGetsTheFloor", 500, 10, 9, DeactivationFloor},
		{"NoActiveUsersGetsTheFloor", 500, 10, 0, DeactivationFloor},
		{"ShareJustAboveTheFloor", 500, 10, 60, 6},
		{"AbsoluteLimitBelowTheFloorStands", 2, 10, 9, 2},
		{"AbsoluteZeroStopsAll", 0, 100, 1000, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := LDAPSettings{DeactivateMaxUsers: tt.maxUsers, DeactivateMaxPercent: tt.maxPercent}
			if got := s.DeactivationLimit(tt.active); got != tt.want {
				t.Fatalf("DeactivationLimit(%d) with %d users / %d%% = %d, want %d", tt.active, tt.maxUsers, tt.maxPercent, got, tt.want)
			}
		})
	}
}
