package engine_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
	"idm/internal/testenv"
)

// sambaEnv is one test's world against a Samba AD DC: a database, the DC
// (with a certificate the engine verifies against the DC's CA), the Active
// Directory preset from the domain root, and an engine whose clock runs
// ahead of the wall clock by skew.
type sambaEnv struct {
	*env
	dc   *testenv.Samba
	skew atomic.Int64 // nanoseconds the engine's clock is ahead
}

// newSambaEnv opens the database at url and saves the AD preset for dc,
// tuned by tune: LDAPS with full verification against the DC's CA, base DN
// the domain root (so that the DC's continuation references and its
// system accounts are in the result), and AD's page limit of 1,000.
func newSambaEnv(t *testing.T, url string, dc *testenv.Samba, tune func(*domain.LDAPSettings)) *sambaEnv {
	t.Helper()
	s := domain.DefaultLDAPSettings()
	if err := s.ApplyPreset(domain.PresetActiveDirectory); err != nil {
		t.Fatal(err)
	}
	s.URL, s.CACert, s.BaseDN = dc.LDAPSURL, dc.CACertPEM, dc.BaseDN
	s.BindDN, s.BindPasswordEnc = dc.BindDN, dc.BindPassword
	s.PageSize, s.SearchTimeoutSeconds = 1000, 120
	s.DeactivateMaxUsers, s.DeactivateMaxPercent = 1000, 100
	if tune != nil {
		tune(&s)
	}
	db := testenv.MustOpenDB(t, url)
	if _, err := db.SaveLDAPSettings(context.Background(), s, "test"); err != nil {
		t.Fatal(err)
	}
	e := &sambaEnv{env: &env{t: t, db: db}, dc: dc}
	e.eng = engine.New(engine.Deps{
		DB: db, Dial: engine.DialDirectory, Instance: "samba-test", Logger: slog.New(slog.DiscardHandler),
		OpenSecret: func(s string) (string, error) { return s, nil },
		Now:        func() time.Time { return time.Now().UTC().Add(time.Duration(e.skew.Load())) },
	})
	return e
}

// later moves the engine's clock d ahead of the wall clock.
func (e *sambaEnv) later(d time.Duration) { e.skew.Store(int64(d)) }

// wantCounts checks a run's status and figures.
func wantCounts(t *testing.T, r *domain.Run, status domain.RunStatus, want domain.RunCounts) {
	t.Helper()
	wantStatus(t, r, status)
	if r.RunCounts != want {
		t.Fatalf("counts %+v, want %+v (%s)", r.RunCounts, want, r.Message)
	}
}

// TestSambaJobs runs both jobs with the Active Directory preset against a
// Samba AD DC holding 2,100 people (210 disabled) and its system accounts,
// on each database: the seeds' end states, objectGUID as stable id,
// disabled by userAccountControl, accountExpires against the engine's
// clock, paging beyond 1,000, a rename followed by objectGUID, LDAPS
// verified against the DC's CA, and the referrals of a search from the
// domain root ignored and counted.
//
// One DC per database, shared by the subtests in order; each subtest has a
// fresh database.
func TestSambaJobs(t *testing.T) {
	for _, st := range testenv.Stores() {
		t.Run(st.Name, func(t *testing.T) {
			dc := testenv.StartSamba(t, testenv.SambaIssuedCertificate())
			t.Run("BothJobsEndToEnd", func(t *testing.T) { testSambaEndToEnd(t, newSambaEnv(t, st.URL(t), dc, nil)) })
			t.Run("UnmappableEntryReportedOnce", func(t *testing.T) { testSambaUnmappable(t, st.URL(t), dc) })
			t.Run("NestedGroupFilter", func(t *testing.T) { testSambaNestedGroup(t, st.URL(t), dc) })
		})
	}
}

// seedSynced stores username as an earlier active run left it: active,
// source ldap, its entry's objectGUID as stable id.
func (e *sambaEnv) seedSynced(username, guid string) {
	e.t.Helper()
	d := store.UserDetail{User: domain.User{Username: username, DN: e.dc.UserDN(e.t, username), GivenName: "Given",
		DirectoryID: &guid, State: domain.UserActive, Source: domain.SourceLDAP}}
	if _, err := e.db.ImportUser(context.Background(), d); err != nil {
		e.t.Fatalf("seed %s: %v", username, err)
	}
}

// testSambaEndToEnd: one active run over the 1,890 enabled people (two
// pages), then the inactive job. Since the users were stored, an AD
// administrator renamed user00042, disabled user00005 and set
// accountExpires on two accounts; user00010 (disabled) and user00003 hold
// a credential of every type.
func testSambaEndToEnd(t *testing.T, e *sambaEnv) {
	guids := e.dc.ObjectGUIDs(t)
	e.seedDave("user00010", domain.UserActive)
	e.seedDave("user00003", domain.UserActive)
	e.seedSynced("user00042", guids["user00042"])
	e.seedSynced("user00005", guids["user00005"])
	newDN := e.dc.RenameUser(t, "user00042", "renamed00042")
	e.dc.DisableUser(t, "user00005")
	e.dc.SetAccountExpires(t, "user00003", testenv.FileTime(time.Now().Add(time.Hour)))
	e.dc.SetAccountExpires(t, "user00004", testenv.FileTime(time.Now().Add(-time.Hour)))

	// Neither user00004 (expired) nor user00005, nor the Administrator,
	// Guest, krbtgt or the DC's computer account; the rename followed by
	// objectGUID, user00005 reported.
	r := e.run(domain.JobActive, engine.RunOptions{})
	wantCounts(t, r, domain.RunSucceeded, domain.RunCounts{Read: 1888, Created: 1886, Updated: 2, Orphans: 1})
	if r.ExpectedTotal != 1888 || !strings.Contains(r.Message, "3 continuation references (referrals); they were not followed") {
		t.Errorf("expected total %d, message %q: want 1888 and the referrals counted", r.ExpectedTotal, r.Message)
	}
	for _, name := range []string{"Administrator", "Guest", "krbtgt", "DC1$", "user00004", "user00020"} {
		if _, err := e.db.UserByUsername(context.Background(), name); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("%s was stored by the active job: %v", name, err)
		}
	}
	for _, name := range []string{"user00001", "user00003", "user00013"} {
		if u := e.user(name); u.DirectoryID == nil || *u.DirectoryID != guids[name] || u.State != domain.UserActive {
			t.Errorf("%s stored as %+v, want active with Samba's objectGUID %s", name, u.User, guids[name])
		}
	}
	if u := e.user("renamed00042"); *u.DirectoryID != guids["user00042"] || u.DN != newDN || e.countUsers() != 1890 {
		t.Errorf("after the rename %+v, %d users: want user00042's objectGUID at %s, no second user", u.User, e.countUsers(), newDN)
	}
	if orphans := e.items(r.ID, domain.OutcomeOrphan); len(orphans) != 1 || orphans[0].Username != "user00005" {
		t.Errorf("orphans %+v, want user00005", orphans)
	}
	wantUntouched(t, e.user("user00003"))

	// The 210 disabled, user00005, and user00004, whose account expired.
	r = e.run(domain.JobInactive, engine.RunOptions{})
	wantCounts(t, r, domain.RunSucceeded, domain.RunCounts{Read: 212, Created: 210, Deactivated: 2,
		CredentialsChanged: 5, CertificatesOnHold: 4, CertificatesRevoked: 2, RolesWithdrawn: 2})
	wantDeactivated(t, e.user("user00010"), r.ID)
	for _, name := range []string{"user00004", "user00005"} {
		if u := e.user(name); u.State != domain.UserInactive {
			t.Errorf("%s is %s, want inactive", name, u.State)
		}
	}
	t.Run("AccountExpiresByTheEnginesClock", func(t *testing.T) { testSambaExpiry(t, e) })
}

// testSambaExpiry: two hours on, by the engine's clock only, user00003's
// account has expired: the dry run, the planning pass and the run agree
// that the inactive job deactivates it.
func testSambaExpiry(t *testing.T, e *sambaEnv) {
	e.later(2 * time.Hour)
	want := domain.RunCounts{Read: 213, Unchanged: 212, Deactivated: 1,
		CredentialsChanged: 5, CertificatesOnHold: 4, CertificatesRevoked: 2, RolesWithdrawn: 2}
	dry := e.run(domain.JobInactive, engine.RunOptions{DryRun: true})
	wantCounts(t, dry, domain.RunSucceeded, want)
	wantUntouched(t, e.user("user00003"))
	r := e.run(domain.JobInactive, engine.RunOptions{})
	wantCounts(t, r, domain.RunSucceeded, want)
	wantDeactivated(t, e.user("user00003"), r.ID)
}

// peopleFilter narrows the preset's active filter to the named accounts.
func peopleFilter(s *domain.LDAPSettings, names ...string) {
	var or strings.Builder
	for _, n := range names {
		or.WriteString("(sAMAccountName=" + ldap.EscapeFilter(n) + ")")
	}
	s.ActiveFilter = "(&" + s.ActiveFilter + "(|" + or.String() + "))"
}

// testSambaUnmappable maps the username to userPrincipalName, which every
// 17th account lacks: each such entry is one error item that names the
// entry, its objectGUID and its user, and says which attribute is missing;
// the user is no orphan, and no internal code shows.
func testSambaUnmappable(t *testing.T, url string, dc *testenv.Samba) {
	e := newSambaEnv(t, url, dc, func(s *domain.LDAPSettings) { peopleFilter(s, "user00017", "user00018", "user00034") })
	wantCounts(t, e.run(domain.JobActive, engine.RunOptions{}), domain.RunSucceeded, domain.RunCounts{Read: 3, Created: 3})
	s, err := e.db.LDAPSettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.Username = "userPrincipalName"
	if _, err := e.db.SaveLDAPSettings(context.Background(), s, "test"); err != nil {
		t.Fatal(err)
	}
	r := e.run(domain.JobActive, engine.RunOptions{})
	wantCounts(t, r, domain.RunSucceededWithErrors, domain.RunCounts{Read: 3, Updated: 1, Errors: 2})
	guids := dc.ObjectGUIDs(t)
	items := e.items(r.ID, domain.OutcomeError)
	if len(items) != 2 {
		t.Fatalf("error items %+v, want user00017 and user00034", items)
	}
	for _, it := range items {
		u := e.user(it.Username)
		if it.DN != dc.UserDN(t, it.Username) || it.DirectoryID != guids[it.Username] || it.UserID == nil || *it.UserID != u.ID {
			t.Errorf("error item %+v, want the entry's DN, objectGUID and user", it)
		}
		if it.Error != "the entry has no userPrincipalName, which is mapped to the username" {
			t.Errorf("error %q", it.Error)
		}
	}
	if strings.Contains(r.Message+items[0].Error+items[1].Error, domain.EINVALID+":") {
		t.Errorf("an internal code shows: %q, %q", r.Message, items[0].Error)
	}
	if renamed := e.user("user00018@samba.example.com"); renamed.DN != dc.UserDN(t, "user00018") {
		t.Errorf("user00018 renamed to %+v", renamed.User)
	}
}

// testSambaNestedGroup: the administrator narrows both filters to the
// members of Staff, directly or through a nested group (AD's
// LDAP_MATCHING_RULE_IN_CHAIN), and the accountExpires rule composes with
// it: an expired member is the inactive job's.
func testSambaNestedGroup(t *testing.T, url string, dc *testenv.Samba) {
	engineers := addSambaGroup(t, dc, "Engineers", dc.UserDN(t, "user00001"), dc.UserDN(t, "user00002"))
	staff := addSambaGroup(t, dc, "Staff", engineers, dc.UserDN(t, "user00006"), dc.UserDN(t, "user00007"))
	dc.SetAccountExpires(t, "user00006", testenv.FileTime(time.Now().Add(-time.Minute)))
	dc.DisableUser(t, "user00007")
	chain := "(memberOf:1.2.840.113556.1.4.1941:=" + ldap.EscapeFilter(staff) + ")"
	e := newSambaEnv(t, url, dc, func(s *domain.LDAPSettings) {
		s.ActiveFilter = "(&" + s.ActiveFilter + chain + ")"
		s.InactiveFilter = "(&" + s.InactiveFilter + chain + ")"
	})
	wantCounts(t, e.run(domain.JobActive, engine.RunOptions{}), domain.RunSucceeded, domain.RunCounts{Read: 2, Created: 2})
	wantCounts(t, e.run(domain.JobInactive, engine.RunOptions{}), domain.RunSucceeded, domain.RunCounts{Read: 2, Created: 2})
	for name, want := range map[string]domain.UserState{
		"user00001": domain.UserActive, "user00002": domain.UserActive, "user00006": domain.UserInactive, "user00007": domain.UserInactive,
	} {
		if u := e.user(name); u.State != want {
			t.Errorf("%s is %s, want %s", name, u.State, want)
		}
	}
}

// addSambaGroup adds a global security group under OU=People with the
// members and returns its DN.
func addSambaGroup(t *testing.T, dc *testenv.Samba, name string, members ...string) string {
	t.Helper()
	dn := "CN=" + ldap.EscapeDN(name) + "," + dc.PeopleDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"group"})
	req.Attribute("sAMAccountName", []string{name})
	req.Attribute("member", members)
	if err := dc.Conn(t).Add(req); err != nil {
		t.Fatalf("add group %s: %v", dn, err)
	}
	return dn
}
