package cli

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/store"
)

const accountUsage = `Usage:
  idm account create --role administrator|operator NAME
  idm account role --role administrator|operator NAME
  idm account password NAME
  idm account disable NAME
  idm account enable NAME
  idm account list

The password is read from a prompt, or from standard input when it is not a
terminal (one line); never from a flag. role gives an account another role
and ends its sessions, by the Admin page's rule: the last enabled
administrator stays one.`

// accountCommand is one account action as the command line gave it.
type accountCommand struct {
	action, name string
	role         domain.AccountRole
}

func runAccount(ctx context.Context, io IO, args []string) error {
	if wantsHelp(args) {
		fmt.Fprintln(io.Stdout, accountUsage)
		return nil
	}
	c, st, err := parseAccountCommand(io, args)
	if err != nil {
		return err
	}
	// Read the password before opening the database, so that a wrong one
	// changes nothing.
	var hash string
	if c.action == "create" || c.action == "password" {
		pw, err := promptPassword(io)
		if err != nil {
			return err
		}
		if hash, err = auth.HashPassword(pw); err != nil {
			return err
		}
	}
	db, err := st.open(ctx)
	if err != nil {
		return err
	}
	defer st.close()
	return c.run(ctx, io, db, hash, st.actor(), st.cfg.Location)
}

// parseAccountCommand reads the action, its flags and the account name,
// and checks the name and role of a new account.
func parseAccountCommand(io IO, args []string) (accountCommand, *setup, error) {
	if len(args) == 0 {
		fmt.Fprintln(io.Stderr, accountUsage)
		return accountCommand{}, nil, fmt.Errorf("%w: account needs an action", ErrUsage)
	}
	c := accountCommand{action: args[0]}
	var roleText string
	st := newSetup("account "+c.action, io)
	if c.action == "create" || c.action == "role" {
		st.fs.StringVar(&roleText, "role", "", "administrator or operator")
	}
	if err := st.parse(args[1:]); err != nil {
		return c, nil, err
	}
	c.name = st.fs.Arg(0)
	if c.action != "list" && (st.fs.NArg() != 1 || c.name == "") {
		fmt.Fprintln(io.Stderr, accountUsage)
		return c, nil, fmt.Errorf("%w: account %s needs exactly one account name", ErrUsage, c.action)
	}
	switch c.action {
	case "create", "role":
		r, err := domain.ParseAccountRole(roleText)
		if err != nil {
			return c, nil, fmt.Errorf("%w: %s", ErrUsage, domain.ErrorMessage(err))
		}
		c.role = r
		if err := domain.ValidateAccountName(c.name); err != nil {
			return c, nil, fmt.Errorf("%w: %s", ErrUsage, domain.ErrorMessage(err))
		}
	case "password", "disable", "enable", "list":
	default:
		fmt.Fprintln(io.Stderr, accountUsage)
		return c, nil, fmt.Errorf("%w: unknown account action %q", ErrUsage, c.action)
	}
	return c, st, nil
}

// run does the action on db as by; hash is the new password's, when it has
// one; loc is the zone times are shown in.
func (c accountCommand) run(ctx context.Context, io IO, db *store.DB, hash, by string, loc *time.Location) error {
	switch c.action {
	case "create":
		if _, err := db.CreateAccount(ctx, c.name, c.role, hash, by); err != nil {
			return err
		}
		fmt.Fprintf(io.Stdout, "account %s created as %s\n", c.name, c.role)
	case "role":
		// The store's rule, as on the Admin page: domain.CheckRoleChange.
		if err := db.SetAccountRole(ctx, c.name, c.role, by); err != nil {
			return err
		}
		fmt.Fprintf(io.Stdout, "account %s is now an %s; its sessions were ended\n", c.name, c.role)
	case "password":
		if err := db.SetAccountPassword(ctx, c.name, hash, by); err != nil {
			return err
		}
		fmt.Fprintf(io.Stdout, "password of %s set; its sessions were ended\n", c.name)
	case "disable", "enable":
		if err := db.SetAccountDisabled(ctx, c.name, c.action == "disable", by); err != nil {
			return err
		}
		fmt.Fprintf(io.Stdout, "account %s %sd\n", c.name, c.action)
	case "list":
		return listAccounts(ctx, io, db, loc)
	}
	return nil
}

// listAccounts writes the accounts as a table, last sign-in in loc.
func listAccounts(ctx context.Context, io IO, db *store.DB, loc *time.Location) error {
	accounts, err := db.ListAccounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tDISABLED\tLAST SIGN-IN")
	for _, a := range accounts {
		last := "-"
		if a.LastLoginAt != nil {
			last = domain.FormatTime(*a.LastLoginAt, loc)
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", a.Username, a.Role, a.Disabled, last)
	}
	return tw.Flush()
}

// promptPassword asks twice on a terminal without echo; otherwise it reads
// one line from standard input.
func promptPassword(io IO) (string, error) {
	if f, ok := io.Stdin.(*os.File); ok && stdinIsTerminal(io.Stdin) {
		fmt.Fprint(io.Stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(io.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(io.Stderr, "Repeat password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(io.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", fmt.Errorf("the two passwords differ")
		}
		return string(a), nil
	}
	pw, err := readSecret(io.Stdin)
	if err != nil {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return pw, nil
}
