package cli

import (
	"context"
	"crypto/rand"
	"fmt"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/store"
)

// runServe is `idm serve`: the web server and the scheduler, until ctx ends
// (SIGINT, SIGTERM); see app.go.
func runServe(ctx context.Context, io IO, args []string) error {
	st := newSetup("serve", io)
	st.cfg.RegisterServe(st.fs, io.Getenv)
	if err := st.parse(args); err != nil {
		return err
	}
	a, err := openApp(ctx, st)
	if err != nil {
		return err
	}
	runErr := a.run(ctx)
	if err := a.close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// Demo accounts get a new random password at every start, printed once.
var demoAccounts = []struct {
	name string
	role domain.AccountRole
}{{"demo-admin", domain.RoleAdministrator}, {"demo-operator", domain.RoleOperator}}

func ensureDemoAccounts(ctx context.Context, db *store.DB, io IO) error {
	fmt.Fprintln(io.Stdout, "Demo mode. Demo accounts (new passwords at every start):")
	for _, d := range demoAccounts {
		pw := randomPassword()
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		if _, err := db.AccountByName(ctx, d.name); domain.ErrorCode(err) == domain.ENOTFOUND {
			if _, err := db.CreateAccount(ctx, d.name, d.role, hash, "demo"); err != nil {
				return err
			}
		} else if err != nil {
			return err
		} else if err := db.SetAccountPassword(ctx, d.name, hash, "demo"); err != nil {
			return err
		}
		fmt.Fprintf(io.Stdout, "  %-14s %-13s password: %s\n", d.name, d.role, pw)
	}
	return nil
}

// randomPassword makes a 20-character password without look-alike letters.
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
