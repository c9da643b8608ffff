package directory

import (
	"context"
	"errors"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// slapdSettings are the OpenLDAP preset pointed at s, bound as its admin.
func slapdSettings(s *testenv.Slapd, url string) domain.LDAPSettings {
	set := settingsFor(url)
	set.BaseDN, set.BindDN = s.BaseDN, s.AdminDN
	set.SearchTimeoutSeconds = 10
	return set
}

func mustDial(t *testing.T, set domain.LDAPSettings, password string) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), set, password)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The directory every TestSlapd subtest reads: the ten people of people.ldif
// and 1,200 generated ones (every 10th locked), 1,210 inetOrgPersons in all,
// 1,210-120-3 = 1,087 active.
const slapdTotal, slapdActive, slapdInactive = 1210, 1087, 123

// slapdFixture is the one directory TestSlapd's subtests share and the
// OpenLDAP preset pointed at its plain ldap:// port.
type slapdFixture struct {
	srv   *testenv.Slapd
	plain domain.LDAPSettings
}

// TestSlapd runs every subtest against one directory, started once: each
// subtest only reads it.
func TestSlapd(t *testing.T) {
	srv := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"), testenv.PeopleLDIF(1200, 10))
	f := slapdFixture{srv: srv, plain: slapdSettings(srv, srv.URL)}
	for _, sub := range []struct {
		name string
		run  func(*testing.T, slapdFixture)
	}{
		{"Connect", testSlapdConnect},
		{"PagedSearchSeesEveryEntryOnce", testSlapdPagedSearch},
		{"MappedAsTheFixtureSays", testSlapdMapping},
		{"Count", testSlapdCount},
		{"Scope", testSlapdScope},
		{"ErrBadBaseDN", testSlapdBadBaseDN},
		{"ErrInvalidFilter", testSlapdInvalidFilter},
		{"ErrFnStopsTheSearch", testSlapdFnStopsTheSearch},
		{"ErrContextCancelledBetweenPages", testSlapdCancelledBetweenPages},
		{"TestReportOK", testSlapdReportOK},
		{"TestReportStopsAtFirstFailure", testSlapdReportStopsAtFirstFailure},
	} {
		t.Run(sub.name, func(t *testing.T) { sub.run(t, f) })
	}
}

// connectCase is one way to reach the directory: the settings and password
// to dial with, and the step that fails with a detail containing want
// ("" for a connection that works).
type connectCase struct {
	name     string
	set      domain.LDAPSettings
	password string
	step     string
	want     string
}

// connectCases are the transports and credentials Dial must accept or refuse.
func connectCases(srv *testenv.Slapd, plain domain.LDAPSettings) []connectCase {
	withCA := func(set domain.LDAPSettings) domain.LDAPSettings { set.CACert = srv.CACertPEM; return set }
	startTLS := withCA(plain)
	startTLS.StartTLS = true
	anonymous := plain
	anonymous.BindDN = ""
	insecure := slapdSettings(srv, srv.LDAPSURL)
	insecure.InsecureSkipVerify = true
	localhost := withCA(slapdSettings(srv, strings.Replace(srv.LDAPSURL, "127.0.0.1", "localhost", 1)))
	return []connectCase{
		{"OKPlain", plain, srv.AdminPassword, "", ""},
		{"OKStartTLSWithCA", startTLS, srv.AdminPassword, "", ""},
		{"OKLDAPSWithCA", withCA(slapdSettings(srv, srv.LDAPSURL)), srv.AdminPassword, "", ""},
		{"OKLDAPSByHostName", localhost, srv.AdminPassword, "", ""},
		{"OKLDAPSInsecureSkipVerify", insecure, srv.AdminPassword, "", ""},
		{"OKAnonymous", anonymous, "", "", ""},
		{"ErrBindWrongPassword", plain, secretPassword, StepBind, "Bind as cn=admin,dc=example,dc=com failed: invalid credentials (49)"},
		{"ErrBindUnknownDN", func() domain.LDAPSettings { s := plain; s.BindDN = "cn=nobody,dc=example,dc=com"; return s }(), secretPassword, StepBind, "invalid credentials (49)"},
		{"ErrStartTLSWithoutCA", func() domain.LDAPSettings { s := plain; s.StartTLS = true; return s }(), srv.AdminPassword, StepTLS, "certificate signed by unknown authority"},
		{"ErrLDAPSWithoutCA", slapdSettings(srv, srv.LDAPSURL), srv.AdminPassword, StepTLS, "certificate signed by unknown authority"},
		{"ErrLDAPSOnPlainPort", withCA(slapdSettings(srv, strings.Replace(srv.URL, "ldap://", "ldaps://", 1))), srv.AdminPassword, StepTLS, "is this a plain ldap:// port?"},
	}
}

func testSlapdConnect(t *testing.T, f slapdFixture) {
	for _, tt := range connectCases(f.srv, f.plain) {
		t.Run(tt.name, func(t *testing.T) { requireConnect(t, tt) })
	}
}

// requireConnect dials as tt says: a refusal must name tt's step, and a
// connection that works must read the base entry, over TLS when asked.
func requireConnect(t *testing.T, tt connectCase) {
	t.Helper()
	c, err := Dial(context.Background(), tt.set, tt.password)
	if tt.step != "" {
		if err == nil {
			c.Close()
			t.Fatal("Dial succeeded")
		}
		requireStep(t, err, tt.step, tt.want)
		return
	}
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	// The connection works: the base entry reads.
	if err := c.ReadBase(context.Background()); err != nil {
		t.Fatalf("ReadBase: %v", err)
	}
	if tls := tt.set.StartTLS || strings.HasPrefix(tt.set.URL, "ldaps"); tls {
		if _, ok := c.conn.TLSConnectionState(); !ok {
			t.Fatal("connection is not TLS")
		}
	}
}

func testSlapdPagedSearch(t *testing.T, f slapdFixture) {
	set := f.plain
	set.PageSize = 100
	c := mustDial(t, set, f.srv.AdminPassword)
	seen := map[string]bool{}
	pages := 0
	err := c.Search(context.Background(), "(objectClass=inetOrgPerson)", set.AttributeMap, func(page []Entry) error {
		pages++
		if len(page) > 100 {
			t.Errorf("page %d has %d entries, more than the page size", pages, len(page))
		}
		for _, e := range page {
			if e.Err != nil {
				t.Errorf("entry %s: %v", e.DN, e.Err)
				continue
			}
			if seen[e.DN] {
				t.Errorf("entry %s seen twice", e.DN)
			}
			seen[e.DN] = true
			if e.Person.Username == "" || len(e.Person.DirectoryID) != 36 || e.Person.DirectoryID != strings.ToLower(e.Person.DirectoryID) {
				t.Errorf("entry %s mapped to %+v", e.DN, e.Person)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(seen) != slapdTotal || pages < 13 {
		t.Fatalf("saw %d entries in %d pages, want %d in at least 13", len(seen), pages, slapdTotal)
	}
}

func testSlapdMapping(t *testing.T, f slapdFixture) {
	c := mustDial(t, f.plain, f.srv.AdminPassword)
	var got []Entry
	err := c.Search(context.Background(), UserFilter(f.plain.AttributeMap, "alice"), f.plain.AttributeMap, func(page []Entry) error {
		got = append(got, page...)
		return nil
	})
	if err != nil || len(got) != 1 {
		t.Fatalf("Search: %d entries, %v", len(got), err)
	}
	p := got[0].Person
	p.DirectoryID = ""
	want := domain.Person{
		DN: "uid=alice,ou=people,dc=example,dc=com", Username: "alice", GivenName: "Alice", Surname: "Andersson",
		DisplayName: "Alice Andersson", Email: "alice@example.com", Phone: "+46 8 555 1001", Title: "Engineer",
		Department: "ENG", EmployeeNumber: "1001",
	}
	if p != want {
		t.Fatalf("alice mapped to\n %+v\nwant\n %+v", p, want)
	}
}

func testSlapdCount(t *testing.T, f slapdFixture) {
	c := mustDial(t, f.plain, f.srv.AdminPassword)
	for _, tt := range []struct {
		filter string
		want   int
	}{{f.plain.ActiveFilter, slapdActive}, {f.plain.InactiveFilter, slapdInactive}, {"(uid=nobody)", 0}} {
		n, err := c.Count(context.Background(), tt.filter)
		if err != nil || n != tt.want {
			t.Errorf("Count(%s) = %d, %v; want %d", tt.filter, n, err, tt.want)
		}
	}
}

func testSlapdScope(t *testing.T, f slapdFixture) {
	srv := f.srv
	for _, tt := range []struct {
		scope, base string
		want        int
	}{
		{domain.ScopeSub, srv.BaseDN, slapdTotal},
		{domain.ScopeOne, srv.BaseDN, 0}, // the people are one level further down
		{domain.ScopeOne, srv.PeopleDN, slapdTotal},
		{domain.ScopeBase, "uid=alice," + srv.PeopleDN, 1},
	} {
		set := f.plain
		set.Scope, set.BaseDN = tt.scope, tt.base
		c := mustDial(t, set, srv.AdminPassword)
		if n, err := c.Count(context.Background(), "(objectClass=inetOrgPerson)"); err != nil || n != tt.want {
			t.Errorf("scope %s under %s: %d, %v; want %d", tt.scope, tt.base, n, err, tt.want)
		}
	}
}

func testSlapdBadBaseDN(t *testing.T, f slapdFixture) {
	set := f.plain
	set.BaseDN = "ou=nowhere,dc=example,dc=com"
	c := mustDial(t, set, f.srv.AdminPassword)
	err := c.Search(context.Background(), "(objectClass=*)", set.AttributeMap, func([]Entry) error {
		t.Fatal("fn called for a missing base")
		return nil
	})
	requireStep(t, err, StepBaseDN, "Base DN ou=nowhere,dc=example,dc=com could not be read: no such object (32)")
	requireStep(t, c.ReadBase(context.Background()), StepBaseDN, "no such object (32)")
}

func testSlapdInvalidFilter(t *testing.T, f slapdFixture) {
	c := mustDial(t, f.plain, f.srv.AdminPassword)
	_, err := c.Count(context.Background(), "(uid=alice")
	requireStep(t, err, StepFilter, "Filter (uid=alice is not valid: unexpected end of filter")
}

func testSlapdFnStopsTheSearch(t *testing.T, f slapdFixture) {
	set := f.plain
	set.PageSize = 100
	c := mustDial(t, set, f.srv.AdminPassword)
	errMine := errors.New("engine: database gone")
	pages := 0
	err := c.Search(context.Background(), "(objectClass=inetOrgPerson)", set.AttributeMap, func([]Entry) error {
		pages++
		return errMine
	})
	if !errors.Is(err, errMine) || pages != 1 {
		t.Fatalf("Search = %v after %d pages, want fn's error after 1", err, pages)
	}
	// The abandoned paged search left the connection usable.
	if n, err := c.Count(context.Background(), "(uid=alice)"); err != nil || n != 1 {
		t.Fatalf("Count after abandon = %d, %v", n, err)
	}
}

func testSlapdCancelledBetweenPages(t *testing.T, f slapdFixture) {
	set := f.plain
	set.PageSize = 100
	c := mustDial(t, set, f.srv.AdminPassword)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pages := 0
	err := c.Search(ctx, "(objectClass=inetOrgPerson)", set.AttributeMap, func([]Entry) error {
		pages++
		if pages == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || pages != 2 {
		t.Fatalf("Search = %v after %d pages, want context.Canceled after 2", err, pages)
	}
	requireStep(t, err, StepSearch, "cancelled")
}

func testSlapdReportOK(t *testing.T, f slapdFixture) {
	r := Test(context.Background(), f.plain, f.srv.AdminPassword)
	if !r.OK {
		t.Fatalf("report not OK: %+v", r.Steps)
	}
	wantSteps := []string{StepAddress, StepTCP, StepBind, StepBaseDN, StepActive, StepInactive}
	if len(r.Steps) != len(wantSteps) {
		t.Fatalf("steps %+v, want %v", r.Steps, wantSteps)
	}
	for i, st := range r.Steps {
		if st.Name != wantSteps[i] || !st.OK || st.Skipped || st.Detail == "" {
			t.Errorf("step %d = %+v, want %s OK with a detail", i, st, wantSteps[i])
		}
	}
	if r.ActiveCount != slapdActive || r.InactiveCount != slapdInactive {
		t.Errorf("counts %d active, %d inactive; want %d, %d", r.ActiveCount, r.InactiveCount, slapdActive, slapdInactive)
	}
	if len(r.Samples) != SampleSize || len(r.SampleErrors) != 0 {
		t.Fatalf("samples %+v, errors %v", r.Samples, r.SampleErrors)
	}
	for _, p := range r.Samples {
		if p.Username == "" || p.DirectoryID == "" || p.Email == "" {
			t.Errorf("sample %+v not mapped", p)
		}
	}
	if r.Steps[3].Detail != "Found dc=example,dc=com" || r.Steps[4].Detail != "1087 entries match" {
		t.Errorf("details %q, %q", r.Steps[3].Detail, r.Steps[4].Detail)
	}
}

func testSlapdReportStopsAtFirstFailure(t *testing.T, f slapdFixture) {
	tls := f.plain
	tls.StartTLS = true
	badBase := f.plain
	badBase.BaseDN = "dc=nowhere"
	badInactive := f.plain
	badInactive.InactiveFilter = "(&(objectClass=inetOrgPerson)(pwdAccountLockedTime=*)"
	allSteps := []string{StepAddress, StepTCP, StepBind, StepBaseDN, StepActive, StepInactive}
	tests := []struct {
		name     string
		set      domain.LDAPSettings
		password string
		failed   string
		want     string
		steps    []string
	}{
		{"ErrBind", f.plain, secretPassword, StepBind, "invalid credentials (49)", allSteps},
		{"ErrTLS", tls, f.srv.AdminPassword, StepTLS, "certificate signed by unknown authority",
			[]string{StepAddress, StepTCP, StepTLS, StepBind, StepBaseDN, StepActive, StepInactive}},
		{"ErrBaseDN", badBase, f.srv.AdminPassword, StepBaseDN, "no such object (32)", allSteps},
		{"ErrInactiveFilter", badInactive, f.srv.AdminPassword, StepInactive, "is not valid: unexpected end of filter", allSteps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Test(context.Background(), tt.set, tt.password)
			if r.OK {
				t.Fatal("report OK")
			}
			requireStopsAt(t, r, tt.steps, tt.failed, tt.want)
		})
	}
}

// requireStopsAt checks a failed report: exactly the steps named, those
// before the failed one OK, the failed one saying want, those after it
// skipped, and no detail holding the password.
func requireStopsAt(t *testing.T, r Report, steps []string, failedStep, want string) {
	t.Helper()
	if len(r.Steps) != len(steps) {
		t.Fatalf("steps %+v, want %v", r.Steps, steps)
	}
	failed := false
	for i, st := range r.Steps {
		if st.Name != steps[i] {
			t.Fatalf("step %d is %s, want %s", i, st.Name, steps[i])
		}
		if strings.Contains(st.Detail, secretPassword) {
			t.Fatalf("step %s detail holds the password", st.Name)
		}
		switch {
		case st.Name == failedStep:
			failed = true
			if st.OK || st.Skipped || !strings.Contains(st.Detail, want) {
				t.Errorf("failed step = %+v, want a failure saying %q", st, want)
			}
		case failed:
			if st.OK || !st.Skipped {
				t.Errorf("step after the failure = %+v, want skipped", st)
			}
		default:
			if !st.OK {
				t.Errorf("step before the failure = %+v, want OK", st)
			}
		}
	}
}

// TestSlapdStoppedMidSearch stops the directory after the first page: the
// search must fail, never end as if the directory had fewer people.
func TestSlapdStoppedMidSearch(t *testing.T) {
	srv := testenv.StartSlapd(t, testenv.PeopleLDIF(300, 0))
	set := slapdSettings(srv, srv.URL)
	set.PageSize = 100
	c := mustDial(t, set, srv.AdminPassword)
	seen, pages := 0, 0
	err := c.Search(context.Background(), set.ActiveFilter, set.AttributeMap, func(page []Entry) error {
		pages++
		seen += len(page)
		if pages == 1 {
			srv.Stop()
		}
		return nil
	})
	if err == nil {
		t.Fatalf("Search succeeded with %d of 300 entries after the directory stopped", seen)
	}
	requireStep(t, err, StepSearch, "failed on page 2")
	if pages != 1 {
		t.Fatalf("fn called %d times, want 1", pages)
	}

	// Once the directory is back, a new connection reads everyone.
	srv.Start()
	c2 := mustDial(t, set, srv.AdminPassword)
	if n, err := c2.Count(context.Background(), set.ActiveFilter); err != nil || n != 300 {
		t.Fatalf("Count after restart = %d, %v; want 300", n, err)
	}
}
