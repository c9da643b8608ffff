package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is one test's world: a database, a directory and an engine.
type env struct {
	t    *testing.T
	db   *store.DB
	ldap *testenv.Slapd
	eng  *engine.Engine
}

func fixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/sync.ldif")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newEnv opens the database at url, starts slapd with ldif and saves LDAP
// settings (OpenLDAP preset, page size 2 so that every test pages).
func newEnv(t *testing.T, url string, tune func(*domain.LDAPSettings), ldif ...string) *env {
	t.Helper()
	ctx := context.Background()
	db := testenv.MustOpenDB(t, url)
	sl := testenv.StartSlapd(t, ldif...)
	s := domain.DefaultLDAPSettings()
	s.URL, s.BaseDN, s.BindDN, s.BindPasswordEnc = sl.URL, sl.BaseDN, sl.AdminDN, sl.AdminPassword
	s.PageSize = 2
	s.DeactivateMaxUsers, s.DeactivateMaxPercent = 1000, 100
	if tune != nil {
		tune(&s)
	}
	if _, err := db.SaveLDAPSettings(ctx, s, "test"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, ldap: sl}
	e.eng = e.newEngine("test-instance")
	return e
}

func (e *env) newEngine(instance string, tune ...func(*engine.Deps)) *engine.Engine {
	d := engine.Deps{
		DB: e.db, Dial: engine.DialDirectory, Instance: instance, Logger: slog.New(slog.DiscardHandler),
		// The tests store the bind password in clear: the box is tested in
		// internal/secret.
		OpenSecret: func(s string) (string, error) { return s, nil },
	}
	for _, f := range tune {
		f(&d)
	}
	return engine.New(d)
}

// readTwice makes the inactive job keep none of its survey, so that its
// writes read the directory a second time, as for a plan too large for
// memory.
func readTwice(d *engine.Deps) { d.PlanMemory = 1 }

func (e *env) run(key domain.JobKey, opts engine.RunOptions) *domain.Run {
	e.t.Helper()
	if opts.Trigger == "" {
		opts.Trigger, opts.By = domain.TriggerCLI, "test"
	}
	r, err := e.eng.Run(context.Background(), key, opts)
	if err != nil {
		e.t.Fatalf("run %s: %v", key, err)
	}
	return r
}

// activeRunAfter runs the active job, which must succeed, changes the
// directory by ldif, and returns the active job's next run.
func (e *env) activeRunAfter(ldif string) *domain.Run {
	e.t.Helper()
	wantStatus(e.t, e.run(domain.JobActive, engine.RunOptions{}), domain.RunSucceeded)
	e.ldap.Modify(e.t, ldif)
	return e.run(domain.JobActive, engine.RunOptions{})
}

func (e *env) user(name string) *store.UserDetail {
	e.t.Helper()
	u, err := e.db.UserByUsername(context.Background(), name)
	if err != nil {
		e.t.Fatalf("user %s: %v", name, err)
	}
	return u
}

func (e *env) items(runID, outcome string) []domain.RunItem {
	e.t.Helper()
	items, _, err := e.db.ListRunItems(context.Background(), runID, outcome, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}

func (e *env) countUsers() int {
	e.t.Helper()
	n, err := e.db.CountUsers(context.Background(), "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// seedDave stores dave as an active user holding one credential of each
// type, each with an active, an already revoked and an expired
// certificate; the card and the temporary card also hold one on hold, the
// soft token one whose validity ended while still marked active; and two
// roles.
func (e *env) seedDave(username string, state domain.UserState) {
	e.t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	reason := "keyCompromise"
	revokedAt := now.AddDate(0, -1, 0)
	var creds []store.CredentialDetail
	for i, ct := range domain.CredentialTypes {
		serial := fmt.Sprintf("%s-%s-%d", username, ct, i)
		certs := []domain.Certificate{
			{Serial: serial + "-A", Subject: "CN=" + username, Issuer: "CN=Test CA", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0), State: domain.CertificateActive},
			{Serial: serial + "-R", Subject: "CN=" + username, Issuer: "CN=Test CA", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0), State: domain.CertificateRevoked, RevocationReason: &reason, RevokedAt: &revokedAt},
			{Serial: serial + "-E", Subject: "CN=" + username, Issuer: "CN=Test CA", NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(-1, 0, 0), State: domain.CertificateExpired},
		}
		switch ct {
		case domain.CredentialCard, domain.CredentialTemporaryCard:
			hold := domain.ReasonCertificateHold
			certs = append(certs, domain.Certificate{Serial: serial + "-H", Subject: "CN=" + username, Issuer: "CN=Test CA", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0), State: domain.CertificateOnHold, RevocationReason: &hold})
		case domain.CredentialSoftToken:
			certs = append(certs, domain.Certificate{Serial: serial + "-P", Subject: "CN=" + username, Issuer: "CN=Test CA", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(0, 0, -1), State: domain.CertificateActive})
		}
		creds = append(creds, store.CredentialDetail{
			Credential: domain.Credential{Type: ct, Serial: serial, State: domain.CredentialActive}, Certificates: certs,
		})
	}
	d := store.UserDetail{
		User:     domain.User{Username: username, DN: "uid=" + username + ",ou=people,dc=example,dc=com", GivenName: "Old", State: state, Source: domain.SourceImport},
		Holdings: store.Holdings{Credentials: creds, Roles: []store.RoleDetail{{RoleName: "Employee"}, {RoleName: "Approver"}}},
	}
	if _, err := e.db.ImportUser(context.Background(), d); err != nil {
		e.t.Fatalf("seed %s: %v", username, err)
	}
}

// wantDeactivated checks every row of the seeds' tables on user u.
func wantDeactivated(t *testing.T, u *store.UserDetail, runID string) {
	t.Helper()
	testenv.WantDeactivated(t, u, len(domain.CredentialTypes))
	for _, c := range u.Credentials {
		_, wantCert, _ := domain.DeactivationTarget(c.Type)
		for _, cert := range c.Certificates {
			want := wantCert
			switch {
			case strings.HasSuffix(cert.Serial, "-R"):
				want = domain.CertificateRevoked
				if cert.RevocationReason == nil || *cert.RevocationReason != "keyCompromise" {
					t.Errorf("%s: an already revoked certificate's reason changed to %v", cert.Serial, cert.RevocationReason)
				}
			case strings.HasSuffix(cert.Serial, "-E"):
				want = domain.CertificateExpired
			case strings.HasSuffix(cert.Serial, "-P"):
				want = domain.CertificateActive
			}
			if cert.State != want {
				t.Errorf("%s %s certificate %s: %s, want %s", u.Username, c.Type, cert.Serial, cert.State, want)
			}
			if strings.HasSuffix(cert.Serial, "-A") || strings.HasSuffix(cert.Serial, "-H") {
				switch want {
				case domain.CertificateRevoked:
					if cert.RevocationReason == nil || *cert.RevocationReason != domain.ReasonCessationOfOperation || cert.RevokedAt == nil {
						t.Errorf("%s: revoked without reason cessationOfOperation and time: %v %v", cert.Serial, cert.RevocationReason, cert.RevokedAt)
					}
				case domain.CertificateOnHold:
					if cert.RevocationReason == nil || *cert.RevocationReason != domain.ReasonCertificateHold {
						t.Errorf("%s: on hold without reason certificateHold: %v", cert.Serial, cert.RevocationReason)
					}
				}
			}
		}
	}
	if len(u.Roles) != 2 {
		t.Errorf("%s: %d role assignments, want both kept as history", u.Username, len(u.Roles))
	}
	for _, r := range u.Roles {
		if r.WithdrawnAt == nil || r.WithdrawnBy == nil || *r.WithdrawnBy != runID {
			t.Errorf("%s: role %s not withdrawn by run %s: %v %v", u.Username, r.RoleName, runID, r.WithdrawnAt, r.WithdrawnBy)
		}
	}
}

// wantUntouched checks that u still holds everything as seeded.
func wantUntouched(t *testing.T, u *store.UserDetail) {
	t.Helper()
	if u.State != domain.UserActive {
		t.Errorf("%s: state %s, want active", u.Username, u.State)
	}
	for _, c := range u.Credentials {
		if c.State != domain.CredentialActive {
			t.Errorf("%s: credential %s is %s, want active", u.Username, c.Serial, c.State)
		}
		for _, cert := range c.Certificates {
			if strings.HasSuffix(cert.Serial, "-A") && cert.State != domain.CertificateActive {
				t.Errorf("%s: certificate %s is %s, want active", u.Username, cert.Serial, cert.State)
			}
		}
	}
	for _, r := range u.Roles {
		if r.WithdrawnAt != nil {
			t.Errorf("%s: role %s withdrawn", u.Username, r.RoleName)
		}
	}
}

func wantStatus(t *testing.T, r *domain.Run, want domain.RunStatus) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("run status %s (%s), want %s", r.Status, r.Message, want)
	}
}

// seededRun runs job on the fixture directory after seeding username in
// state; the run must succeed.
func seededRun(t *testing.T, url, username string, state domain.UserState, job domain.JobKey) (*env, *domain.Run) {
	t.Helper()
	e := newEnv(t, url, nil, fixture(t))
	e.seedDave(username, state)
	r := e.run(job, engine.RunOptions{})
	wantStatus(t, r, domain.RunSucceeded)
	return e, r
}

func TestActiveJob(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e, r := seededRun(t, url, "bob", domain.UserInactive, domain.JobActive)
		if r.Read != 2 || r.Created != 1 || r.Updated != 1 || r.Unchanged != 0 || r.ExpectedTotal != 2 {
			t.Errorf("counts %+v expected %d, want read 2 created 1 updated 1", r.RunCounts, r.ExpectedTotal)
		}
		alice := e.user("alice")
		if alice.State != domain.UserActive || alice.Email != "alice@example.com" || alice.Department != "ENG" ||
			alice.Phone != "+46 8 555 1001" || alice.EmployeeNumber != "1001" || alice.DirectoryID == nil || alice.Source != domain.SourceLDAP {
			t.Errorf("alice mapped as %+v", alice.User)
		}
		bob := e.user("bob")
		if bob.State != domain.UserActive || bob.GivenName != "Bob" || bob.DirectoryID == nil {
			t.Errorf("bob updated as %+v", bob.User)
		}
		wantUntouched(t, bob) // the active job leaves credentials, certificates and roles alone
		if _, err := e.db.UserByUsername(context.Background(), "dave"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("dave (locked) was stored by the active job: %v", err)
		}
		if items := e.items(r.ID, ""); len(items) != 2 {
			t.Errorf("items %+v, want one created and one updated", items)
		}

		t.Run("SecondRunWritesNothing", func(t *testing.T) {
			before := e.user("alice").UpdatedAt
			r2 := e.run(domain.JobActive, engine.RunOptions{})
			wantStatus(t, r2, domain.RunSucceeded)
			if r2.Read != 2 || r2.Unchanged != 2 || r2.Created+r2.Updated+r2.Errors+r2.Orphans != 0 {
				t.Errorf("second run counts %+v, want 2 unchanged", r2.RunCounts)
			}
			if items := e.items(r2.ID, ""); len(items) != 0 {
				t.Errorf("second run recorded items %+v", items)
			}
			if after := e.user("alice").UpdatedAt; !after.Equal(before) {
				t.Errorf("alice updated_at moved from %v to %v", before, after)
			}
		})
	})
}

func TestInactiveJob(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e, r := seededRun(t, url, "dave", domain.UserActive, domain.JobInactive)
		// Five credentials change. On hold: the active certificate of each
		// type but the temporary card (the card's one already on hold stays,
		// the soft token's past its validity keeps its state); revoked: the
		// temporary card's active and on-hold ones.
		want := domain.RunCounts{Read: 2, Created: 1, Deactivated: 1, CredentialsChanged: 5, CertificatesOnHold: 4, CertificatesRevoked: 2, RolesWithdrawn: 2}
		if r.RunCounts != want {
			t.Errorf("counts %+v, want %+v", r.RunCounts, want)
		}
		wantDeactivated(t, e.user("dave"), r.ID)
		if erin := e.user("erin"); erin.State != domain.UserInactive || erin.Email != "erin@example.com" {
			t.Errorf("erin created as %+v, want inactive with mapped fields", erin.User)
		}
		if dave := e.user("dave"); dave.GivenName != "Old" {
			t.Errorf("inactive job changed dave's given name to %q; it keeps only identity fields in line", dave.GivenName)
		}
		items := e.items(r.ID, domain.OutcomeDeactivated)
		if len(items) != 1 || !strings.Contains(items[0].Changes, `"after":"on_hold"`) {
			t.Errorf("deactivated items %+v", items)
		}

		t.Run("SecondRunWritesNothing", func(t *testing.T) {
			before := e.user("dave")
			r2 := e.run(domain.JobInactive, engine.RunOptions{})
			wantStatus(t, r2, domain.RunSucceeded)
			if r2.Unchanged != 2 || r2.Created+r2.Deactivated+r2.CredentialsChanged+r2.CertificatesOnHold+r2.CertificatesRevoked+r2.RolesWithdrawn != 0 {
				t.Errorf("second run counts %+v", r2.RunCounts)
			}
			if items := e.items(r2.ID, ""); len(items) != 0 {
				t.Errorf("second run recorded items %+v", items)
			}
			after := e.user("dave")
			if !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("dave updated_at moved")
			}
			for i, c := range after.Credentials {
				if !c.UpdatedAt.Equal(before.Credentials[i].UpdatedAt) {
					t.Errorf("credential %s updated_at moved", c.Serial)
				}
				for j, cert := range c.Certificates {
					if !cert.UpdatedAt.Equal(before.Credentials[i].Certificates[j].UpdatedAt) {
						t.Errorf("certificate %s updated_at moved", cert.Serial)
					}
				}
			}
		})

		t.Run("ActiveJobLeavesDeactivatedUsersAlone", func(t *testing.T) {
			r3 := e.run(domain.JobActive, engine.RunOptions{})
			wantStatus(t, r3, domain.RunSucceeded)
			if u := e.user("dave"); u.State != domain.UserInactive {
				t.Errorf("dave is %s after the active job", u.State)
			}
		})
	})
}

func TestRename(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil, fixture(t))
		wantStatus(t, e.run(domain.JobActive, engine.RunOptions{}), domain.RunSucceeded)
		alice := e.user("alice")

		e.ldap.Modify(t, "dn: uid=alice,ou=people,dc=example,dc=com\nchangetype: modrdn\nnewrdn: uid=alicia\ndeleteoldrdn: 1\n")
		r := e.run(domain.JobActive, engine.RunOptions{})
		wantStatus(t, r, domain.RunSucceeded)
		if r.Updated != 1 || r.Created != 0 {
			t.Errorf("counts %+v, want the rename as one update", r.RunCounts)
		}
		renamed := e.user("alicia")
		if renamed.ID != alice.ID || renamed.DN != "uid=alicia,ou=people,dc=example,dc=com" {
			t.Errorf("rename gave %+v, want user %s with the new DN", renamed.User, alice.ID)
		}
		if n := e.countUsers(); n != 2 {
			t.Errorf("%d users after the rename, want 2", n)
		}
	})
}

func TestBadEntries(t *testing.T) {
	bad := `dn: cn=No Uid,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: No Uid
sn: Uid

dn: cn=Alice Again,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: Alice Again
sn: Again
uid: alice

dn: uid=longtitle,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: longtitle
cn: Long Title
sn: Title
title: ` + strings.Repeat("x", 300) + "\n"
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil, fixture(t), bad)
		r := e.run(domain.JobActive, engine.RunOptions{})
		wantStatus(t, r, domain.RunSucceededWithErrors)
		if r.Read != 5 || r.Created != 2 || r.Errors != 3 {
			t.Errorf("counts %+v, want 5 read, 2 created, 3 errors", r.RunCounts)
		}
		errs := e.items(r.ID, domain.OutcomeError)
		var text []string
		for _, it := range errs {
			text = append(text, it.DN+": "+it.Error)
		}
		joined := strings.Join(text, "\n")
		for _, want := range []string{"the entry has no uid, which is mapped to the username", "more than one directory entry", "longer than"} {
			if !strings.Contains(joined, want) {
				t.Errorf("error items lack %q:\n%s", want, joined)
			}
		}
		if _, err := e.db.UserByUsername(context.Background(), "longtitle"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("the entry with an overlong title was stored: %v", err)
		}
		if n := e.countUsers(); n != 2 {
			t.Errorf("%d users, want alice and bob only", n)
		}
	})
}

func TestOrphans(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, func(s *domain.LDAPSettings) { s.ShrinkMaxPercent = 60 }, fixture(t))
		r := e.activeRunAfter("dn: uid=bob,ou=people,dc=example,dc=com\nchangetype: delete\n")
		wantStatus(t, r, domain.RunSucceeded)
		orphans := e.items(r.ID, domain.OutcomeOrphan)
		if r.Orphans != 1 || len(orphans) != 1 || orphans[0].Username != "bob" {
			t.Fatalf("orphans %+v counts %+v, want bob", orphans, r.RunCounts)
		}
		if bob := e.user("bob"); bob.State != domain.UserActive {
			t.Errorf("orphan bob changed to %s", bob.State)
		}
	})
}

func TestSafetyStops(t *testing.T) {
	ctx := context.Background()
	t.Run("SearchFailsNothingChanged", func(t *testing.T) {
		testenv.EachStore(t, func(t *testing.T, url string) {
			e := newEnv(t, url, nil, fixture(t))
			e.seedDave("dave", domain.UserActive)
			e.ldap.Stop()
			for _, job := range domain.JobKeys {
				r := e.run(job, engine.RunOptions{})
				wantStatus(t, r, domain.RunSafetyStop)
				if !strings.Contains(r.Message, "Nothing was changed") {
					t.Errorf("message %q", r.Message)
				}
			}
			wantUntouched(t, e.user("dave"))
			if n := e.countUsers(); n != 1 {
				t.Errorf("%d users, want only the seeded one", n)
			}
		})
	})
	t.Run("ThresholdThenOverrideConsumed", func(t *testing.T) {
		testenv.EachStore(t, func(t *testing.T, url string) {
			e := newEnv(t, url, func(s *domain.LDAPSettings) { s.DeactivateMaxUsers = 0 }, fixture(t))
			e.seedDave("dave", domain.UserActive)
			r := e.run(domain.JobInactive, engine.RunOptions{})
			wantStatus(t, r, domain.RunSafetyStop)
			if !strings.Contains(r.Message, "would deactivate 1 users, more than the limit of 0") {
				t.Errorf("message %q", r.Message)
			}
			wantUntouched(t, e.user("dave"))
			if _, err := e.db.UserByUsername(ctx, "erin"); domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Errorf("erin was created by a stopped run")
			}

			if err := e.db.SetThresholdOverride(ctx, true, "admin"); err != nil {
				t.Fatal(err)
			}
			dry := e.run(domain.JobInactive, engine.RunOptions{DryRun: true})
			wantStatus(t, dry, domain.RunSucceeded)
			if s, _ := e.db.LDAPSettings(ctx); !s.AllowNextPastThreshold {
				t.Fatal("a dry run used up the administrator's permission")
			}
			r = e.run(domain.JobInactive, engine.RunOptions{})
			wantStatus(t, r, domain.RunSucceeded)
			wantDeactivated(t, e.user("dave"), r.ID)
			if s, _ := e.db.LDAPSettings(ctx); s.AllowNextPastThreshold {
				t.Error("the permission to pass the limit was not used up")
			}
			events, _, err := e.db.ListAudit(ctx, 0, 10)
			if err != nil || len(events) == 0 || !strings.Contains(events[0].Detail, r.ID) {
				t.Errorf("audit of the used permission: %+v %v", events, err)
			}
		})
	})
	t.Run("ActiveResultShrank", func(t *testing.T) {
		testenv.EachStore(t, func(t *testing.T, url string) {
			e := newEnv(t, url, func(s *domain.LDAPSettings) { s.ShrinkMaxPercent = 20 }, fixture(t))
			r := e.activeRunAfter("dn: uid=bob,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: title\ntitle: Boss\n\ndn: uid=alice,ou=people,dc=example,dc=com\nchangetype: delete\n")
			wantStatus(t, r, domain.RunSafetyStop)
			if !strings.Contains(r.Message, "50% fewer than the 2") {
				t.Errorf("message %q", r.Message)
			}
			if bob := e.user("bob"); bob.Title != "Accountant" {
				t.Errorf("a stopped run changed bob's title to %q", bob.Title)
			}
			if items := e.items(r.ID, ""); len(items) != 0 {
				t.Errorf("a stopped run recorded items %+v", items)
			}
		})
	})
}

func TestDryRun(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil, fixture(t))
		e.seedDave("dave", domain.UserActive)
		r := e.run(domain.JobInactive, engine.RunOptions{DryRun: true})
		wantStatus(t, r, domain.RunSucceeded)
		if !r.DryRun || r.Created != 1 || r.Deactivated != 1 || r.CertificatesRevoked != 2 || r.RolesWithdrawn != 2 {
			t.Errorf("dry run counts %+v", r.RunCounts)
		}
		if items := e.items(r.ID, ""); len(items) != 2 {
			t.Errorf("dry run items %+v, want what it would do", items)
		}
		wantUntouched(t, e.user("dave"))
		if n := e.countUsers(); n != 1 {
			t.Errorf("dry run created users: %d", n)
		}
		if last, _ := e.db.LastSuccessfulRun(context.Background(), domain.JobInactive); last != nil {
			t.Error("a dry run counts as the last successful run")
		}
	})
}

func TestConcurrentStartRefused(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil, fixture(t))
		other := e.newEngine("other-instance")
		started, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		done := make(chan *domain.Run)
		go func() {
			r, err := e.eng.Run(context.Background(), domain.JobActive, engine.RunOptions{
				Trigger: domain.TriggerManual, By: "alice-admin",
				Progress: func(domain.Run) {
					once.Do(func() { close(started); <-release })
				},
			})
			if err != nil {
				t.Errorf("first run: %v", err)
			}
			done <- r
		}()
		<-started
		if _, ok := e.eng.Status(domain.JobActive); !ok {
			t.Error("Status does not show the running job")
		}
		for _, tc := range []struct {
			name string
			eng  *engine.Engine
			job  domain.JobKey
		}{
			{"SameJobSameProcess", e.eng, domain.JobActive},
			{"OtherJobSameProcess", e.eng, domain.JobInactive},
			{"SameJobOtherInstance", other, domain.JobActive},
			{"OtherJobOtherInstance", other, domain.JobInactive},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := tc.eng.Run(context.Background(), tc.job, engine.RunOptions{Trigger: domain.TriggerCLI})
				if domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(domain.ErrorMessage(err), "already running") ||
					!strings.Contains(domain.ErrorMessage(err), "alice-admin") {
					t.Errorf("second start: %v, want a conflict naming who started the first", err)
				}
			})
		}
		close(release)
		wantStatus(t, <-done, domain.RunSucceeded)
		wantStatus(t, e.run(domain.JobInactive, engine.RunOptions{}), domain.RunSucceeded)
	})
}

func TestDirectoryStopsMidRun(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, func(s *domain.LDAPSettings) { s.PageSize = 3 }, testenv.PeopleLDIF(12, 1))
		// The directory stops while the writes read it: a plan kept in
		// memory needs no second read (TestInactiveReadsOnce).
		e.eng = e.newEngine("test-instance", readTwice)
		ctx := context.Background()
		for i := 1; i <= 12; i++ {
			e.seedDave(fmt.Sprintf("user%06d", i), domain.UserActive)
		}
		stopped := false
		r := e.run(domain.JobInactive, engine.RunOptions{Progress: func(r domain.Run) {
			// ExpectedTotal is set once the survey has read everything.
			if r.ExpectedTotal > 0 && r.Read > 0 && !stopped {
				stopped = true
				e.ldap.Stop()
			}
		}})
		wantStatus(t, r, domain.RunFailed)
		if !strings.Contains(r.Message, "no user is half-changed") {
			t.Errorf("message %q", r.Message)
		}
		changed := 0
		for i := 1; i <= 12; i++ {
			u := e.user(fmt.Sprintf("user%06d", i))
			if u.State == domain.UserInactive {
				changed++
				wantDeactivated(t, u, r.ID)
			} else {
				wantUntouched(t, u)
			}
		}
		// The page being written when the directory stopped, and the pages
		// already read behind it (at most two: one queued, one in hand),
		// are committed whole; nothing after them.
		if changed%3 != 0 || changed < 3 || changed > 9 {
			t.Errorf("%d users changed before the directory stopped, want whole pages of 3: one to three", changed)
		}

		e.ldap.Start()
		r2 := e.run(domain.JobInactive, engine.RunOptions{})
		wantStatus(t, r2, domain.RunSucceeded)
		if r2.Deactivated != 12-changed || r2.Unchanged != changed {
			t.Errorf("second run counts %+v, want %d deactivated and %d unchanged", r2.RunCounts, 12-changed, changed)
		}
		n, err := e.db.CountUsers(ctx, domain.UserInactive, "")
		if err != nil || n != 12 {
			t.Errorf("%d inactive users (%v), want 12", n, err)
		}
	})
}

func TestRecoverAbortsStaleRuns(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		now := db.Now()
		// Runs recorded before owners existed: told by instance and heartbeat.
		mk := func(instance string, beat time.Time) *domain.Run {
			r := &domain.Run{ID: store.NewID(), JobKey: domain.JobActive, Trigger: domain.TriggerSchedule, Status: domain.RunRunning,
				StartedAt: beat, HeartbeatAt: beat, Instance: instance}
			testenv.InsertRun(t, db, r)
			return r
		}
		mine := mk("me", now)
		stale := mk("elsewhere", now.Add(-time.Hour))
		alive := mk("elsewhere", now)
		eng := engine.New(engine.Deps{DB: db, Instance: "me"})
		if n, err := eng.Recover(ctx); err != nil || n != 2 {
			t.Fatalf("recover: %d, %v; want 2 aborted", n, err)
		}
		for r, want := range map[*domain.Run]domain.RunStatus{mine: domain.RunAborted, stale: domain.RunAborted, alive: domain.RunRunning} {
			got, err := db.GetRun(ctx, r.ID)
			if err != nil || got.Status != want {
				t.Errorf("run of %s: %v %v, want %s", r.Instance, got.Status, err, want)
			}
		}
	})
}

// The walk for orphans is skipped only when the store's count proves there
// is none: a created user (or one planned by a dry run) must not make up for
// a user the directory no longer returns.
func TestOrphansBesideNewUsers(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, nil, fixture(t))
		wantStatus(t, e.run(domain.JobActive, engine.RunOptions{}), domain.RunSucceeded)
		e.ldap.Modify(t, "dn: uid=bob,ou=people,dc=example,dc=com\nchangetype: delete\n\n"+
			"dn: uid=carol,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\nuid: carol\ncn: Carol Carlsson\nsn: Carlsson\nmail: carol@example.com\n")
		for _, tc := range []struct {
			name        string
			opts        engine.RunOptions
			wantCreated int
		}{
			{"DryRunReportsBob", engine.RunOptions{DryRun: true}, 1},
			{"RunCreatingCarolReportsBob", engine.RunOptions{}, 1},
			{"RepeatedRunReportsBob", engine.RunOptions{}, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.run(domain.JobActive, tc.opts)
				wantStatus(t, r, domain.RunSucceeded)
				orphans := e.items(r.ID, domain.OutcomeOrphan)
				if r.Orphans != 1 || len(orphans) != 1 || orphans[0].Username != "bob" || r.Created != tc.wantCreated {
					t.Fatalf("orphans %+v counts %+v, want bob and %d created", orphans, r.RunCounts, tc.wantCreated)
				}
			})
		}
	})
}
