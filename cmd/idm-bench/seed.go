package main

import (
	"context"
	"fmt"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
)

// seedInactiveHoldings enters every locked person of pop as holder(i)
// describes them. It writes with multi-row inserts: this is set-up, not a
// measured phase.
func seedInactiveHoldings(ctx context.Context, db *store.DB, pop population) (int, error) {
	now := db.Now().Truncate(time.Second)
	roles := make([]domain.Role, len(holderRoles))
	for i, name := range holderRoles {
		roles[i] = domain.Role{ID: store.NewID(), Name: name}
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
			if err := w.CreateInBatches(rows, 50).Error; err != nil {
				return fmt.Errorf("seed: %w", err)
			}
		}
		users, creds, certs, assigns = users[:0], creds[:0], certs[:0], assigns[:0]
		return nil
	}
	seeded := 0
	for i := range pop.n {
		if !pop.inactive(i) {
			continue
		}
		d := holder(i, now)
		d.ID = store.NewID()
		users = append(users, d.User)
		for _, cd := range d.Credentials {
			cd.ID, cd.UserID = store.NewID(), d.ID
			creds = append(creds, cd.Credential)
			for _, cert := range cd.Certificates {
				cert.ID, cert.CredentialID = store.NewID(), cd.ID
				certs = append(certs, cert)
			}
		}
		for _, r := range roles {
			assigns = append(assigns, domain.RoleAssignment{ID: store.NewID(), UserID: d.ID, RoleID: r.ID, AssignedAt: d.CreatedAt})
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
