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

// TestSlapd runs against one directory: the ten people of people.ldif and
// 1,200 generated ones (every 10th locked), 1,210 inetOrgPersons in all,
// 1,210-120-3 = 1,087 active.
func TestSlapd(t *testing.T) {
	srv := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"), testenv.PeopleLDIF(1200, 10))
	const total, active, inactive = 1210, 1087, 123
	plain := slapdSettings(srv, srv.URL)

	t.Run("Connect", func(t *testing.T) {
		withCA := func(set domain.LDAPSettings) domain.LDAPSettings { set.CACert = srv.CACertPEM; return set }
		startTLS := withCA(plain)
		startTLS.StartTLS = true
		anonymous := plain
		anonymous.BindDN = ""
		insecure := slapdSettings(srv, srv.LDAPSURL)
		insecure.InsecureSkipVerify = true
		localhost := withCA(slapdSettings(srv, strings.Replace(srv.LDAPSURL, "127.0.0.1", "localhost", 1)))
		tests := []struct {
			name     string
			set      domain.LDAPSettings
			password string
			step     string // "" for success
			want     string
		}{
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
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
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
			})
		}
	})

	t.Run("PagedSearchSeesEveryEntryOnce", func(t *testing.T) {
		set := plain
		set.PageSize = 100
		c := mustDial(t, set, srv.AdminPassword)
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
		if len(seen) != total || pages < 13 {
			t.Fatalf("saw %d entries in %d pages, want %d in at least 13", len(seen), pages, total)
		}
	})

	t.Run("MappedAsTheFixtureSays", func(t *testing.T) {
		c := mustDial(t, plain, srv.AdminPassword)
		var got []Entry
		err := c.Search(context.Background(), UserFilter(plain.AttributeMap, "alice"), plain.AttributeMap, func(page []Entry) error {
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
	})

	t.Run("Count", func(t *testing.T) {
		c := mustDial(t, plain, srv.AdminPassword)
		for _, tt := range []struct {
			filter string
			want   int
		}{{plain.ActiveFilter, active}, {plain.InactiveFilter, inactive}, {"(uid=nobody)", 0}} {
			n, err := c.Count(context.Background(), tt.filter)
			if err != nil || n != tt.want {
				t.Errorf("Count(%s) = %d, %v; want %d", tt.filter, n, err, tt.want)
			}
		}
	})

	t.Run("Scope", func(t *testing.T) {
		for _, tt := range []struct {
			scope, base string
			want        int
		}{
			{domain.ScopeSub, srv.BaseDN, total},
			{domain.ScopeOne, srv.BaseDN, 0}, // the people are one level further down
			{domain.ScopeOne, srv.PeopleDN, total},
			{domain.ScopeBase, "uid=alice," + srv.PeopleDN, 1},
		} {
			set := plain
			set.Scope, set.BaseDN = tt.scope, tt.base
			c := mustDial(t, set, srv.AdminPassword)
			if n, err := c.Count(context.Background(), "(objectClass=inetOrgPerson)"); err != nil || n != tt.want {
				t.Errorf("scope %s under %s: %d, %v; want %d", tt.scope, tt.base, n, err, tt.want)
			}
		}
	})

	t.Run("ErrBadBaseDN", func(t *testing.T) {
		set := plain
		set.BaseDN = "ou=nowhere,dc=example,dc=com"
		c := mustDial(t, set, srv.AdminPassword)
		err := c.Search(context.Background(), "(objectClass=*)", set.AttributeMap, func([]Entry) error {
			t.Fatal("fn called for a missing base")
			return nil
		})
		requireStep(t, err, StepBaseDN, "Base DN ou=nowhere,dc=example,dc=com could not be read: no such object (32)")
		requireStep(t, c.ReadBase(context.Background()), StepBaseDN, "no such object (32)")
	})

	t.Run("ErrInvalidFilter", func(t *testing.T) {
		c := mustDial(t, plain, srv.AdminPassword)
		_, err := c.Count(context.Background(), "(uid=alice")
		requireStep(t, err, StepFilter, "Filter (uid=alice is not valid: unexpected end of filter")
	})

	t.Run("ErrFnStopsTheSearch", func(t *testing.T) {
		set := plain
		set.PageSize = 100
		c := mustDial(t, set, srv.AdminPassword)
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
	})

	t.Run("ErrContextCancelledBetweenPages", func(t *testing.T) {
		set := plain
		set.PageSize = 100
		c := mustDial(t, set, srv.AdminPassword)
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
	})

	t.Run("TestReportOK", func(t *testing.T) {
		r := Test(context.Background(), plain, srv.AdminPassword)
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
		if r.ActiveCount != active || r.InactiveCount != inactive {
			t.Errorf("counts %d active, %d inactive; want %d, %d", r.ActiveCount, r.InactiveCount, active, inactive)
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
	})

	t.Run("TestReportStopsAtFirstFailure", func(t *testing.T) {
		tls := plain
		tls.StartTLS = true
		badBase := plain
		badBase.BaseDN = "dc=nowhere"
		badInactive := plain
		badInactive.InactiveFilter = "(&(objectClass=inetOrgPerson)(pwdAccountLockedTime=*)"
		tests := []struct {
			name     string
			set      domain.LDAPSettings
			password string
			failed   string
			want     string
			steps    []string
		}{
			{"ErrBind", plain, secretPassword, StepBind, "invalid credentials (49)",
				[]string{StepAddress, StepTCP, StepBind, StepBaseDN, StepActive, StepInactive}},
			{"ErrTLS", tls, srv.AdminPassword, StepTLS, "certificate signed by unknown authority",
				[]string{StepAddress, StepTCP, StepTLS, StepBind, StepBaseDN, StepActive, StepInactive}},
			{"ErrBaseDN", badBase, srv.AdminPassword, StepBaseDN, "no such object (32)",
				[]string{StepAddress, StepTCP, StepBind, StepBaseDN, StepActive, StepInactive}},
			{"ErrInactiveFilter", badInactive, srv.AdminPassword, StepInactive, "is not valid: unexpected end of filter",
				[]string{StepAddress, StepTCP, StepBind, StepBaseDN, StepActive, StepInactive}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := Test(context.Background(), tt.set, tt.password)
				if r.OK {
					t.Fatal("report OK")
				}
				if len(r.Steps) != len(tt.steps) {
					t.Fatalf("steps %+v, want %v", r.Steps, tt.steps)
				}
				failed := false
				for i, st := range r.Steps {
					if st.Name != tt.steps[i] {
						t.Fatalf("step %d is %s, want %s", i, st.Name, tt.steps[i])
					}
					if strings.Contains(st.Detail, secretPassword) {
						t.Fatalf("step %s detail holds the password", st.Name)
					}
					switch {
					case st.Name == tt.failed:
						failed = true
						if st.OK || st.Skipped || !strings.Contains(st.Detail, tt.want) {
							t.Errorf("failed step = %+v, want a failure saying %q", st, tt.want)
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
			})
		}
	})
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
