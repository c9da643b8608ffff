package main

import (
	"context"
	"fmt"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
)

// seedInactiveHoldings enters every inactive person of a directory of n as
// a previous active sync left them (state active, source ldap, the
// entryUUID as stable identifier, fields as mapped), each holding two
// credentials with two certificates each and three roles. It writes with
// multi-row inserts: this is set-up, not a measured phase.
func seedInactiveHoldings(ctx context.Context, db *store.DB, n int) (int, error) {
	now := db.Now().Truncate(time.Second)
	roles := []domain.Role{
		{ID: store.NewID(), Name: "Employee"}, {ID: store.NewID(), Name: "VPN user"}, {ID: store.NewID(), Name: "Building access"},
	}
	w := db.Pools()[0].WithContext(ctx) // the writer: set-up, outside the store's methods
	if err := w.Create(&roles).Error; err != nil {
		return 0, fmt.Errorf("seed roles: %w", err)
	}
	const batch = 500
	var users []domain.User
	var creds []domain.Credential
	var certs []domain.Certificate
	var assigns []domain.RoleAssignment
	flush := func() error {
		if len(users) == 0 {
			return nil
		}
		// Parents first: the foreign keys are checked at each insert.
		for _, rows := range []any{&users, &creds, &certs, &assigns} {
			if err := w.CreateInBatches(rows, batch).Error; err != nil {
				return fmt.Errorf("seed: %w", err)
			}
		}
		users, creds, certs, assigns = users[:0], creds[:0], certs[:0], assigns[:0]
		return nil
	}
	seeded := 0
	synced := now.Add(-24 * time.Hour)
	for i := range n {
		if !inactive(i) {
			continue
		}
		given, sn := givenNames[i%len(givenNames)], surnames[(i/len(givenNames))%len(surnames)]
		uid, uuid := personUID(i), personUUID(i)
		u := domain.User{
			ID: store.NewID(), Username: uid, DirectoryID: &uuid, DN: "uid=" + uid + "," + peopleDN,
			GivenName: given, Surname: sn, DisplayName: given + " " + sn, Email: uid + "@example.com",
			Phone: fmt.Sprintf("+1 555 %03d %04d", i%1000, i%10000), Title: titles[i%len(titles)],
			Department: departments[i%len(departments)], EmployeeNumber: fmt.Sprint(1000000 + i),
			State: domain.UserActive, Source: domain.SourceLDAP, CreatedAt: synced, UpdatedAt: synced, LastSyncedAt: &synced,
		}
		users = append(users, u)
		for c := range 2 {
			t := domain.CredentialTypes[(i/10+c)%len(domain.CredentialTypes)]
			cred := domain.Credential{ID: store.NewID(), UserID: u.ID, Type: t, Serial: fmt.Sprintf("%s-%d", uid, c),
				State: domain.CredentialActive, CreatedAt: synced, UpdatedAt: synced}
			creds = append(creds, cred)
			for k := range 2 {
				certs = append(certs, domain.Certificate{
					ID: store.NewID(), CredentialID: cred.ID, Serial: fmt.Sprintf("%s-%d-%d", uid, c, k),
					Subject: "CN=" + u.DisplayName + ",O=Example", Issuer: "CN=Bench CA,O=Example",
					NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0), State: domain.CertificateActive,
					CreatedAt: synced, UpdatedAt: synced,
				})
			}
		}
		for _, r := range roles {
			assigns = append(assigns, domain.RoleAssignment{ID: store.NewID(), UserID: u.ID, RoleID: r.ID, AssignedAt: synced})
		}
		seeded++
		if len(users) == batch {
			if err := flush(); err != nil {
				return seeded, err
			}
		}
	}
	return seeded, flush()
}
