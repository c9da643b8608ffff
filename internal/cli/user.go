package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
)

const userUsage = "usage: idm user show USERNAME [--json]"

func runUser(ctx context.Context, io IO, args []string) error {
	if err := wantAction(io, args, "user", "show", userUsage); err != nil {
		return err
	}
	s := newSetup("user show", io)
	asJSON := s.fs.Bool("json", false, "print the user as JSON, in the import/export format")
	name, err := s.onlyArgument(args[1:], userUsage, "user show needs one username")
	if err != nil {
		return err
	}
	db, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	u, err := db.UserByUsername(ctx, name)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return fmt.Errorf("%s", domain.ErrorMessage(err))
		}
		return err
	}
	if *asJSON {
		return writeJSON(io.Stdout, recordOf(u))
	}
	printUser(io.Stdout, u, s.cfg.Location)
	return nil
}

// printUser prints u for people, its times in loc as every page shows them
// (the JSON keeps RFC 3339).
func printUser(w io.Writer, u *store.UserDetail, loc *time.Location) {
	fmt.Fprintf(w, "User %s (%s, source %s)\n", u.Username, u.State, u.Source)
	dirID := ""
	if u.DirectoryID != nil {
		dirID = *u.DirectoryID
	}
	for _, f := range [][2]string{
		{"ID", u.ID}, {"Directory ID", dirID}, {"DN", u.DN}, {"Given name", u.GivenName}, {"Surname", u.Surname},
		{"Display name", u.DisplayName}, {"Email", u.Email}, {"Phone", u.Phone}, {"Title", u.Title},
		{"Department", u.Department}, {"Employee number", u.EmployeeNumber},
	} {
		if f[1] != "" {
			fmt.Fprintf(w, "  %-16s %s\n", f[0]+":", f[1])
		}
	}
	fmt.Fprintf(w, "  %-16s %s\n", "Updated:", domain.FormatTime(u.UpdatedAt, loc))
	if len(u.Credentials) == 0 {
		fmt.Fprintln(w, "Credentials: none")
	} else {
		fmt.Fprintln(w, "Credentials:")
	}
	for _, c := range u.Credentials {
		fmt.Fprintf(w, "  %s %s: %s\n", c.Type.Label(), c.Serial, c.State)
		for _, k := range c.Certificates {
			extra := ""
			if k.RevocationReason != nil {
				extra = " (" + *k.RevocationReason
				if k.RevokedAt != nil {
					extra += " at " + domain.FormatTime(*k.RevokedAt, loc)
				}
				extra += ")"
			}
			fmt.Fprintf(w, "    certificate %s, issuer %s, valid %s to %s: %s%s\n", k.Serial, k.Issuer,
				k.NotBefore.UTC().Format("2006-01-02"), k.NotAfter.UTC().Format("2006-01-02"), k.State.Label(), extra)
		}
	}
	if len(u.Roles) == 0 {
		fmt.Fprintln(w, "Roles: none")
	} else {
		fmt.Fprintln(w, "Roles:")
	}
	for _, r := range u.Roles {
		if r.WithdrawnAt == nil {
			fmt.Fprintf(w, "  %s: assigned %s\n", r.RoleName, domain.FormatTime(r.AssignedAt, loc))
			continue
		}
		by := ""
		if r.WithdrawnBy != nil {
			by = " by run " + *r.WithdrawnBy
		}
		fmt.Fprintf(w, "  %s: withdrawn %s%s\n", r.RoleName, domain.FormatTime(*r.WithdrawnAt, loc), by)
	}
}
