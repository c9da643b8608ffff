package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
	"idm/internal/testenv"
)

// seedPlain stores username in state with no credentials, certificates or
// roles, imported (not yet linked to a directory entry).
func (e *env) seedPlain(username string, state domain.UserState) {
	e.t.Helper()
	d := store.UserDetail{User: domain.User{Username: username, DN: "uid=" + username + ",ou=people,dc=example,dc=com",
		GivenName: "User", State: state, Source: domain.SourceImport}}
	if _, err := e.db.ImportUser(context.Background(), d); err != nil {
		e.t.Fatalf("seed %s: %v", username, err)
	}
}

// TestDeactivatedCountsStateChanges is the run that said 7 while its own
// safety message and planning pass said 6: seven locked entries, six of
// them active users and one already inactive that the job only links to
// its entry. Deactivated counts the six whose state becomes inactive; the
// seventh is updated; the planning pass, the dry run and the run agree.
func TestDeactivatedCountsStateChanges(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, func(s *domain.LDAPSettings) { s.DeactivateMaxUsers = 5 }, testenv.PeopleLDIF(7, 1))
		for i := 1; i <= 6; i++ {
			e.seedDave(fmt.Sprintf("user%06d", i), domain.UserActive)
		}
		e.seedPlain("user000007", domain.UserInactive)

		r := e.run(domain.JobInactive, engine.RunOptions{})
		wantStatus(t, r, domain.RunSafetyStop)
		if !strings.Contains(r.Message, "would deactivate 6 users, more than the limit of 5") {
			t.Fatalf("safety message %q, want 6 users", r.Message)
		}

		ctx := context.Background()
		s, err := e.db.LDAPSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.DeactivateMaxUsers = 6
		if _, err := e.db.SaveLDAPSettings(ctx, s, "test"); err != nil {
			t.Fatal(err)
		}
		want := domain.RunCounts{Read: 7, Updated: 1, Deactivated: 6,
			CredentialsChanged: 30, CertificatesOnHold: 24, CertificatesRevoked: 12, RolesWithdrawn: 12}
		for _, opts := range []engine.RunOptions{{DryRun: true}, {}} {
			r := e.run(domain.JobInactive, opts)
			wantStatus(t, r, domain.RunSucceeded)
			if r.RunCounts != want {
				t.Errorf("dry run %t: counts %+v, want %+v", opts.DryRun, r.RunCounts, want)
			}
			if n := len(e.items(r.ID, domain.OutcomeDeactivated)); n != 6 {
				t.Errorf("dry run %t: %d deactivated items, want 6", opts.DryRun, n)
			}
			if linked := e.items(r.ID, domain.OutcomeUpdated); len(linked) != 1 || linked[0].Username != "user000007" {
				t.Errorf("dry run %t: updated items %+v, want user000007 linked", opts.DryRun, linked)
			}
		}
		if u := e.user("user000007"); u.Source != domain.SourceLDAP || u.DirectoryID == nil {
			t.Errorf("user000007 not linked to its entry: %+v", u.User)
		}
	})
}

// TestDeactivationLimitFloor: 10% of 9 active users rounds down to 0,
// which stopped every deactivation; the share never limits below
// domain.DeactivationFloor users. Past the limit, the stopped run shows
// the entries it read and names both ways to let the next run pass.
func TestDeactivationLimitFloor(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, func(s *domain.LDAPSettings) {
			d := domain.DefaultLDAPSettings()
			s.DeactivateMaxUsers, s.DeactivateMaxPercent = d.DeactivateMaxUsers, d.DeactivateMaxPercent
		}, testenv.PeopleLDIF(15, 9))
		for i := 1; i <= 9; i++ {
			e.seedPlain(fmt.Sprintf("user%06d", i), domain.UserActive)
		}
		r := e.run(domain.JobInactive, engine.RunOptions{})
		wantStatus(t, r, domain.RunSucceeded)
		if r.Deactivated != 1 {
			t.Fatalf("counts %+v, want user000009 deactivated", r.RunCounts)
		}

		// Six more active users, all locked: 6 is past the floor of 5
		// (10% of the 14 active users is 1).
		for i := 10; i <= 15; i++ {
			e.seedPlain(fmt.Sprintf("user%06d", i), domain.UserActive)
		}
		e.ldap.Modify(t, lockLDIF(10, 15))
		r = e.run(domain.JobInactive, engine.RunOptions{})
		wantStatus(t, r, domain.RunSafetyStop)
		for _, want := range []string{
			"would deactivate 6 users, more than the limit of 5",
			"the lower of 500 users and 10% of the 14 active users, the share never below 5 users",
			"on the LDAP connection page", "idm ldap allow-next-run",
		} {
			if !strings.Contains(r.Message, want) {
				t.Errorf("message %q lacks %q", r.Message, want)
			}
		}
		if r.Read != 7 || r.Deactivated != 0 {
			t.Errorf("stopped run counts %+v, want the 7 entries read and nothing changed", r.RunCounts)
		}
	})
}

// lockLDIF locks uid=user<from>…user<to> (pwdAccountLockedTime).
func lockLDIF(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "dn: uid=user%06d,%s\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n\n", i, testenv.SlapdPeopleDN)
	}
	return b.String()
}
