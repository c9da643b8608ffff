package directory

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/testenv"
)

// sambaSettings are the Active Directory preset pointed at dc's OU=People,
// bound as its Administrator.
func sambaSettings(dc *testenv.Samba, url string) domain.LDAPSettings {
	s := domain.DefaultLDAPSettings()
	if err := s.ApplyPreset(domain.PresetActiveDirectory); err != nil {
		panic(err)
	}
	s.URL, s.BaseDN, s.BindDN = url, dc.PeopleDN, dc.BindDN
	s.ConnectTimeoutSeconds, s.SearchTimeoutSeconds = 5, 60
	return s
}

// sambaExpected is what the AD preset must find in OU=People, computed
// from the population's description rather than read back.
func sambaExpected() (active, inactive []string) {
	for _, u := range testenv.SambaPeople() {
		if u.Disabled {
			inactive = append(inactive, u.Username)
		} else {
			active = append(active, u.Username)
		}
	}
	return active, inactive
}

// sambaFixture is one DC with the settings that skip certificate
// verification (its own certificate names no address) and the users the
// preset must find there.
type sambaFixture struct {
	dc                       *testenv.Samba
	skip                     domain.LDAPSettings
	wantActive, wantInactive []string
}

// TestSamba runs the Active Directory preset against a Samba AD DC with
// 2,100 users (210 disabled) and the DC's own certificate (negative serial,
// no subject alternative name).
func TestSamba(t *testing.T) {
	dc := testenv.StartSamba(t)
	if dc.CertSerial.Sign() >= 0 {
		t.Fatalf("the DC's certificate serial is %s: these tests need Samba's negative one", dc.CertSerial)
	}
	f := sambaFixture{dc: dc, skip: sambaSettings(dc, dc.LDAPSURL)}
	f.skip.InsecureSkipVerify = true
	f.wantActive, f.wantInactive = sambaExpected()

	t.Run("Connect", func(t *testing.T) { testSambaConnect(t, dc, f.skip) })
	t.Run("StableIDIsObjectGUIDInADByteOrder", f.testStableID)
	t.Run("DisabledByUserAccountControlBit", f.testDisabled)
	t.Run("PagingBeyond1000", f.testPaging)
	t.Run("ReferralsFromTheDomainRootIgnoredAndCounted", f.testReferrals)
	t.Run("TestReportShowsFiltersAndReferrals", f.testReportFilters)
	t.Run("TestReportWarnsWhenAFilterMatchesNothing", f.testReportNoMatch)
}

func (f sambaFixture) testStableID(t *testing.T) {
	guids := f.dc.ObjectGUIDs(t) // as Samba prints them
	entries := sambaSearch(t, f.skip, f.skip.ActiveFilter, 500)
	if len(entries) != len(f.wantActive) {
		t.Fatalf("active filter found %d entries, want %d", len(entries), len(f.wantActive))
	}
	for _, e := range entries {
		if e.Err != nil {
			t.Fatalf("entry %s: %v", e.DN, e.Err)
		}
		if want := guids[e.Person.Username]; e.Person.DirectoryID != want || want == "" {
			t.Fatalf("%s: stable id %q, Samba says objectGUID %q", e.DN, e.Person.DirectoryID, want)
		}
	}
}

// testDisabled: half the disabled users also have DONT_EXPIRE_PASSWORD
// (userAccountControl 66050, not 514), so only a bit test finds them all.
func (f sambaFixture) testDisabled(t *testing.T) {
	for _, tt := range []struct {
		filter string
		want   []string
	}{{f.skip.ActiveFilter, f.wantActive}, {f.skip.InactiveFilter, f.wantInactive}} {
		var got []string
		for _, e := range sambaSearch(t, f.skip, tt.filter, 500) {
			got = append(got, e.Person.Username)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s found %d users, want %d (first %v)", tt.filter, len(got), len(tt.want), got[:min(3, len(got))])
		}
	}
}

// testPaging: AD's MaxPageSize is 1000 and a bigger page is cut to it.
// Samba does not cut, so this pages at the limit itself, over 2,100 entries.
func (f sambaFixture) testPaging(t *testing.T) {
	set := f.skip
	set.PageSize = 1000
	c := mustDial(t, set, f.dc.BindPassword)
	seen, pages := map[string]bool{}, 0
	err := c.Search(context.Background(), "(&(objectCategory=person)(objectClass=user))", set.AttributeMap, func(page []Entry) error {
		pages++
		for _, e := range page {
			if seen[e.DN] {
				t.Errorf("%s seen twice", e.DN)
			}
			seen[e.DN] = true
		}
		if len(page) > 1000 {
			t.Errorf("page %d holds %d entries", pages, len(page))
		}
		return nil
	})
	if err != nil || len(seen) != testenv.SambaPeopleCount || pages != 3 {
		t.Fatalf("Search: %d entries in %d pages, %v; want %d in 3", len(seen), pages, err, testenv.SambaPeopleCount)
	}
}

func (f sambaFixture) testReferrals(t *testing.T) {
	set := f.skip
	set.BaseDN = f.dc.BaseDN
	c := mustDial(t, set, f.dc.BindPassword)
	// OU=People's 1,890 only: the preset leaves out the critical system
	// objects (Administrator; Guest and krbtgt are disabled) and the DC's
	// computer account.
	for filter, want := range map[string]int{set.ActiveFilter: len(f.wantActive), set.InactiveFilter: len(f.wantInactive)} {
		if n, err := c.Count(context.Background(), filter); err != nil || n != want {
			t.Fatalf("Count %s from the domain root = %d, %v; want %d", filter, n, err, want)
		}
	}
	if c.Referrals() != 6 {
		t.Fatalf("Referrals() = %d, want 3 a search (DomainDnsZones, ForestDnsZones, Configuration)", c.Referrals())
	}
}

func (f sambaFixture) testReportFilters(t *testing.T) {
	set := f.skip
	set.BaseDN = f.dc.BaseDN
	r := Test(context.Background(), set, f.dc.BindPassword)
	if !r.OK || len(r.Filters) != 2 {
		t.Fatalf("report OK=%v, filters %+v, steps %+v", r.OK, r.Filters, r.Steps)
	}
	active, inactive := r.Filters[0], r.Filters[1]
	if active.Count != len(f.wantActive) || inactive.Count != len(f.wantInactive) || active.Warning != "" {
		t.Errorf("filters %+v, want %d active and %d inactive without warnings", r.Filters, len(f.wantActive), len(f.wantInactive))
	}
	var zones []string
	for _, ref := range active.Referrals {
		_, dn, _ := strings.Cut(strings.TrimPrefix(ref, "ldaps://"), "/")
		zones = append(zones, strings.SplitN(dn, ",", 2)[0])
	}
	slices.Sort(zones)
	if want := []string{"CN=Configuration", "DC=DomainDnsZones", "DC=ForestDnsZones"}; !slices.Equal(zones, want) {
		t.Errorf("referrals %v, want ones for %v", active.Referrals, want)
	}
	if d := r.Steps[len(r.Steps)-2].Detail; d != "1890 entries match; 3 continuation references not followed" {
		t.Errorf("active filter step says %q", d)
	}
}

func (f sambaFixture) testReportNoMatch(t *testing.T) {
	set := f.skip
	set.ActiveFilter = "(&(objectCategory=person)(objectClass=user)(sAMAcountName=user*))" // misspelt
	set.InactiveFilter = "(&(objectCategory=person)(sAMAccountName=nobody))"
	r := Test(context.Background(), set, f.dc.BindPassword)
	if !r.OK || len(r.Filters) != 2 {
		t.Fatalf("report OK=%v, filters %+v, steps %+v", r.OK, r.Filters, r.Steps)
	}
	if w := r.Filters[0].Warning; !strings.Contains(w, "the directory's schema has no attribute sAMAcountName") {
		t.Errorf("misspelt filter warning %q", w)
	}
	if w := r.Filters[1].Warning; !strings.Contains(w, "Check the filter's attribute names and values") {
		t.Errorf("empty filter warning %q", w)
	}
	if d := r.Steps[len(r.Steps)-2].Detail; !strings.HasPrefix(d, "0 entries match. Warning: no entry matches, and the directory's schema") {
		t.Errorf("active filter step says %q", d)
	}
}

// testSambaConnect is how each way of connecting to the DC ends.
func testSambaConnect(t *testing.T, dc *testenv.Samba, skip domain.LDAPSettings) {
	ownCA := sambaSettings(dc, dc.LDAPSURL)
	ownCA.CACert = dc.CACertPEM
	startTLS := sambaSettings(dc, dc.URL)
	startTLS.StartTLS, startTLS.InsecureSkipVerify = true, true
	t.Run("ErrPlainSimpleBindStrongAuthRequired", func(t *testing.T) {
		_, err := Dial(context.Background(), sambaSettings(dc, dc.URL), dc.BindPassword)
		requireStep(t, err, StepBind, "strong auth required (8)", "use an ldaps:// URL (port 636) or StartTLS")
	})
	t.Run("ErrOwnCertificateNamesNoAddress", func(t *testing.T) {
		// The CA parses (its serial is negative) and is trusted; what fails
		// is the name: Samba's certificate has only a CN.
		_, err := Dial(context.Background(), ownCA, dc.BindPassword)
		requireStep(t, err, StepTLS, "names its server only in its subject (CN="+testenv.SambaServerName+
			",OU=Samba - temporary autogenerated HOST certificate,O=Samba Administration)", "subject alternative names include 127.0.0.1")
	})
	for name, set := range map[string]domain.LDAPSettings{"OKOwnCertificateSkipVerify": skip, "OKStartTLSSkipVerify": startTLS} {
		t.Run(name, func(t *testing.T) {
			r := Test(context.Background(), set, dc.BindPassword)
			if !r.OK {
				t.Fatalf("report not OK: %+v", r.Steps)
			}
			tlsStep := r.Steps[2]
			want := `certificate "CN=` + testenv.SambaServerName + `,OU=Samba - temporary autogenerated HOST certificate,O=Samba Administration" ` +
				`issued by "CN=` + testenv.SambaServerName + `,OU=Samba - temporary autogenerated CA certificate,O=Samba Administration"`
			if tlsStep.Name != StepTLS || !strings.Contains(tlsStep.Detail, want) || !strings.Contains(tlsStep.Detail, "NOT verified") {
				t.Errorf("TLS step %+v, want the names %s and the warning", tlsStep, want)
			}
		})
	}
	t.Run("OKLDAPSTrustingTheDCsCA", func(t *testing.T) {
		issued := testenv.StartSamba(t, testenv.SambaIssuedCertificate())
		set := sambaSettings(issued, issued.LDAPSURL)
		set.CACert = issued.CACertPEM
		if r := Test(context.Background(), set, issued.BindPassword); !r.OK {
			t.Fatalf("report not OK: %+v", r.Steps)
		}
	})
}

// sambaSearch reads every entry filter finds with the settings.
func sambaSearch(t *testing.T, set domain.LDAPSettings, filter string, pageSize int) []Entry {
	t.Helper()
	set.PageSize = pageSize
	c := mustDial(t, set, testenv.SambaAdminPassword)
	var all []Entry
	if err := c.Search(context.Background(), filter, set.AttributeMap, func(page []Entry) error {
		all = append(all, page...)
		return nil
	}); err != nil {
		t.Fatalf("Search %s: %v", filter, err)
	}
	return all
}

// TestSambaChanges changes the directory as an AD administrator does, on
// a DC of its own.
func TestSambaChanges(t *testing.T) {
	dc := testenv.StartSamba(t)
	set := sambaSettings(dc, dc.LDAPSURL)
	set.InsecureSkipVerify = true
	t.Run("RenameKeepsObjectGUID", func(t *testing.T) { testSambaRename(t, dc, set) })
	t.Run("TestReportCountsExpiredAccountsAsInactive", func(t *testing.T) { testSambaExpiredReport(t, dc, set) })
}

// testSambaRename renames a user (new CN, sAMAccountName and
// userPrincipalName): the entry keeps its stable id, so the product can
// follow it.
func testSambaRename(t *testing.T, dc *testenv.Samba, set domain.LDAPSettings) {
	find := func(username string) Entry {
		entries := sambaSearch(t, set, UserFilter(set.AttributeMap, username), 10)
		if len(entries) != 1 || entries[0].Err != nil {
			t.Fatalf("%s: %+v", username, entries)
		}
		return entries[0]
	}
	before := find("user00042")
	newDN := dc.RenameUser(t, "user00042", "renamed00042")
	after := find("renamed00042")
	if after.Person.DirectoryID != before.Person.DirectoryID || after.DN != newDN || after.DN == before.DN {
		t.Fatalf("before %s %s, after %s %s: want the same objectGUID under the new DN %s",
			before.DN, before.Person.DirectoryID, after.DN, after.Person.DirectoryID, newDN)
	}
}

// testSambaExpiredReport: Test connection counts what the jobs would
// search for now, so an enabled account past accountExpires is counted
// with the inactive filter, and one that expires later with the active.
func testSambaExpiredReport(t *testing.T, dc *testenv.Samba, set domain.LDAPSettings) {
	dc.SetAccountExpires(t, "user00001", testenv.FileTime(time.Now().Add(-time.Minute)))
	dc.SetAccountExpires(t, "user00002", testenv.FileTime(time.Now().Add(time.Hour)))
	dc.SetAccountExpires(t, "user00003", 0)
	active, inactive := sambaExpected()
	r := Test(context.Background(), set, dc.BindPassword)
	if !r.OK || len(r.Filters) != 2 {
		t.Fatalf("report OK=%v, filters %+v, steps %+v", r.OK, r.Filters, r.Steps)
	}
	if r.Filters[0].Count != len(active)-1 || r.Filters[1].Count != len(inactive)+1 {
		t.Errorf("counts %d and %d, want %d active and %d inactive", r.Filters[0].Count, r.Filters[1].Count, len(active)-1, len(inactive)+1)
	}
	if r.Filters[0].Filter != set.ActiveFilter {
		t.Errorf("the report shows the filter %s, want the configured one", r.Filters[0].Filter)
	}
}
