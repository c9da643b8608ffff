package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// holder is a record of the import format's shape: a user with two
// credentials of two certificates each and two roles.
func holder(name string) store.UserDetail {
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	dirID := "dir-" + name
	d := store.UserDetail{User: domain.User{Username: name, DirectoryID: &dirID, GivenName: strings.ToUpper(name[:1]) + name[1:],
		State: domain.UserActive, Source: domain.SourceLDAP}}
	for c, ct := range []domain.CredentialType{domain.CredentialCard, domain.CredentialTemporaryCard} {
		cd := store.CredentialDetail{Credential: domain.Credential{Type: ct, Serial: fmt.Sprintf("%s-%d", name, c), State: domain.CredentialActive}}
		for k := range 2 {
			cd.Certificates = append(cd.Certificates, domain.Certificate{Serial: fmt.Sprintf("%s-%d-%d", name, c, k), Issuer: "CN=CA",
				NotBefore: nb, NotAfter: nb.AddDate(2, 0, 0), State: domain.CertificateActive})
		}
		d.Credentials = append(d.Credentials, cd)
	}
	d.Roles = []store.RoleDetail{{RoleName: "Employee"}, {RoleName: "Role of " + name}}
	return d
}

// TestImportUsersBatch: a batch is written in a few statements whatever its
// length; a record that conflicts with the store, with an earlier record of
// the batch, or that the database refuses, fails alone and writes nothing;
// importing the same batch again changes nothing.
func TestImportUsersBatch(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		if _, err := db.ImportUser(ctx, holder("owner")); err != nil {
			t.Fatal(err)
		}
		var batch []store.UserDetail
		for i := range 300 {
			batch = append(batch, holder(fmt.Sprintf("user%03d", i)))
		}
		log := testenv.LogStatements(db)
		res, err := db.ImportUsers(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil || !r.Changed {
				t.Fatalf("record %d: %+v", i, r)
			}
		}
		// Reads, and multi-row inserts of a few dozen rows (SQLite) to a few
		// hundred (PostgreSQL): well under one statement per record, where
		// one record at a time took about fifteen.
		if n := log.Len(); n > 150 {
			t.Errorf("300 records took %d statements, want at most 150:\n%s", n, strings.Join(log.Since(0)[:min(n, 60)], "\n"))
		}
		wantHolder(t, db, "user123")

		again, err := db.ImportUsers(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range again {
			if r.Err != nil || r.Changed {
				t.Fatalf("importing again, record %d: %+v, want unchanged", i, r)
			}
		}
		importRejectsAlone(t, db)
	})
}

// importRejectsAlone imports a batch with a record that takes another
// user's card, one that repeats an earlier record's username (it applies
// after it), one the database refuses (a state no rule lets through), and
// one whose new card carries another card's certificate.
func importRejectsAlone(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	thief := holder("thief")
	thief.Credentials[0].Serial = "owner-0"
	first, second := holder("twice"), holder("twice")
	second.GivenName = "Second"
	refused := holder("refused")
	refused.State = "bogus"
	certThief := holder("certthief")
	certThief.Credentials[1].Certificates[0].Serial = "owner-1-0"
	res, err := db.ImportUsers(ctx, []store.UserDetail{holder("before"), thief, first, second, refused, holder("after"), certThief})
	if err != nil {
		t.Fatal(err)
	}
	if domain.ErrorCode(res[1].Err) != domain.ECONFLICT || res[4].Err == nil || domain.ErrorCode(res[6].Err) != domain.ECONFLICT {
		t.Fatalf("results %+v: want the thieves' conflicts and the refused record's error", res)
	}
	if !strings.Contains(res[1].Err.Error(), "belongs to another user") || !strings.Contains(res[6].Err.Error(), "belongs to another credential") {
		t.Errorf("conflicts %q, %q: want each to say whose it is", res[1].Err, res[6].Err)
	}
	for _, i := range []int{0, 2, 3, 5} {
		if res[i].Err != nil || !res[i].Changed {
			t.Errorf("record %d: %+v, want written", i, res[i])
		}
	}
	for _, name := range []string{"thief", "refused", "certthief"} {
		if _, err := db.UserByUsername(ctx, name); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("%s: %v, want nothing of the rejected record written", name, err)
		}
	}
	for _, name := range []string{"before", "after"} {
		wantHolder(t, db, name)
	}
	if u, err := db.UserByUsername(ctx, "twice"); err != nil || u.GivenName != "Second" {
		t.Errorf("twice: %+v %v, want the second record's given name", u, err)
	}
	owner, err := db.UserByUsername(ctx, "owner")
	if err != nil || len(owner.Credentials) != 2 {
		t.Errorf("owner: %+v %v, want both cards kept", owner, err)
	}
}

// TestImportRefusedLate: a record the database refuses only at its last
// rows (a certificate's state no rule lets through, written after every
// user, credential and role of the batch) still leaves nothing written, and
// the batch's other records are written: the batch's rows go in one
// transaction, on PostgreSQL with COPY on that transaction's connection.
func TestImportRefusedLate(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		late := holder("late")
		late.Credentials[1].Certificates[1].State = "bogus"
		res, err := db.ImportUsers(ctx, []store.UserDetail{holder("first"), late, holder("last")})
		if err != nil {
			t.Fatal(err)
		}
		if res[1].Err == nil || res[0].Err != nil || res[2].Err != nil {
			t.Fatalf("results %+v: want only the late record refused", res)
		}
		if _, err := db.UserByUsername(ctx, "late"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("late: %v, want nothing of the refused record written", err)
		}
		for _, name := range []string{"first", "last"} {
			wantHolder(t, db, name)
		}
	})
}

// TestImportKeysArePairs: credentials and certificates are found by their
// whole key, type and serial, issuer and serial: a serial that another
// user's credential of another type (or another issuer's certificate)
// carries is no conflict, and importing again finds each by its own key.
func TestImportKeysArePairs(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		owner, twin := holder("owner"), holder("twin")
		for c := range twin.Credentials {
			twin.Credentials[c].Type = domain.CredentialTypes[len(domain.CredentialTypes)-1-c]
			twin.Credentials[c].Serial = owner.Credentials[c].Serial
			for k := range twin.Credentials[c].Certificates {
				twin.Credentials[c].Certificates[k].Issuer = "CN=Other CA"
				twin.Credentials[c].Certificates[k].Serial = owner.Credentials[c].Certificates[k].Serial
			}
		}
		for round, want := range []bool{true, false} {
			res, err := db.ImportUsers(ctx, []store.UserDetail{owner, twin})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Err != nil || r.Changed != want {
					t.Errorf("round %d, record %d: %+v, want written %v and no error", round, i, r, want)
				}
			}
		}
		for _, name := range []string{"owner", "twin"} {
			u, err := db.UserByUsername(ctx, name)
			if err != nil || len(u.Credentials) != 2 || len(u.Credentials[0].Certificates) != 2 {
				t.Errorf("%s: %+v %v, want its two credentials of two certificates", name, u, err)
			}
		}
	})
}

func wantHolder(t *testing.T, db *store.DB, name string) {
	t.Helper()
	u, err := db.UserByUsername(context.Background(), name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	certs := 0
	for _, c := range u.Credentials {
		certs += len(c.Certificates)
	}
	if len(u.Credentials) != 2 || certs != 4 || len(u.Roles) != 2 || u.DirectoryID == nil || *u.DirectoryID != "dir-"+name {
		t.Errorf("%s: %+v, want 2 credentials, 4 certificates, 2 roles and its stable id", name, u)
	}
}

// TestPendingHoldings: PendingHoldings names exactly the users the
// inactive job would still change, for every credential type, credential
// state, certificate state and validity, and for roles.
func TestPendingHoldings(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		now := db.Now().Truncate(time.Second)
		want := map[string]bool{}
		var records []store.UserDetail
		for _, ct := range domain.CredentialTypes {
			credEnd, certEnd, _ := domain.DeactivationTarget(ct)
			for _, credState := range []domain.CredentialState{domain.CredentialActive, credEnd} {
				for _, certState := range domain.CertificateStates {
					for _, notAfter := range []time.Time{now.Add(time.Hour), now.Add(-time.Hour)} {
						name := fmt.Sprintf("%s-%s-%s-%d", ct, credState, certState, notAfter.Unix())
						records = append(records, store.UserDetail{
							User: domain.User{Username: name, State: domain.UserInactive, Source: domain.SourceLDAP},
							Holdings: store.Holdings{Credentials: []store.CredentialDetail{{
								Credential:   domain.Credential{Type: ct, Serial: name, State: credState},
								Certificates: []domain.Certificate{{Serial: name, Issuer: "CN=CA", NotBefore: now.AddDate(-1, 0, 0), NotAfter: notAfter, State: certState}},
							}}},
						})
						want[name] = credState != credEnd || domain.NextCertificateState(certState, certEnd, notAfter, now) != certState
					}
				}
			}
		}
		for name, roles := range map[string][]store.RoleDetail{"role-held": {{RoleName: "Employee"}}, "role-withdrawn": {{RoleName: "Employee"}}, "nothing": nil} {
			records = append(records, store.UserDetail{User: domain.User{Username: name, State: domain.UserInactive, Source: domain.SourceLDAP}, Holdings: store.Holdings{Roles: roles}})
			want[name] = name == "role-held"
		}
		if _, err := db.ImportUsers(ctx, records); err != nil {
			t.Fatal(err)
		}
		withdrawn, err := db.UserByUsername(ctx, "role-withdrawn")
		if err != nil {
			t.Fatal(err)
		}
		change := &store.UserChange{UserID: withdrawn.ID, WithdrawRoles: []string{withdrawn.Roles[0].ID}}
		if failed, err := db.ApplyChanges(ctx, []*store.UserChange{change}, now, "test"); err != nil || len(failed) > 0 {
			t.Fatalf("withdraw the role: %v %v", failed, err)
		}
		ids, names := pendingUserIDs(t, db, records)
		got, err := db.PendingHoldings(ctx, ids, now)
		if err != nil {
			t.Fatal(err)
		}
		for id, name := range names {
			if got[id] != want[name] {
				t.Errorf("%s: pending %v, want %v", name, got[id], want[name])
			}
		}
	})
}

// pendingUserIDs are the stored ids of records' users, and their names.
func pendingUserIDs(t *testing.T, db *store.DB, records []store.UserDetail) ([]string, map[string]string) {
	t.Helper()
	var usernames []string
	for _, r := range records {
		usernames = append(usernames, r.Username)
	}
	users, err := db.UsersByUsernames(context.Background(), usernames)
	if err != nil || len(users) != len(records) {
		t.Fatalf("%d users stored of %d: %v", len(users), len(records), err)
	}
	var ids []string
	names := map[string]string{}
	for name, u := range users {
		ids, names[u.ID] = append(ids, u.ID), name
	}
	return ids, names
}
