package cli

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"golang.org/x/term"

	"idm/internal/auth"
	"idm/internal/domain"
)

const accountUsage = `Usage:
  idm account create --role administrator|operator NAME
  idm account password NAME
  idm account disable NAME
  idm account enable NAME
  idm account list

The password is read from a prompt, or from standard input when it is not a
terminal (one line); never from a flag.`

func runAccount(ctx context.Context, io IO, args []string) error {
	if wantsHelp(args) {
		fmt.Fprintln(io.Stdout, accountUsage)
		return nil
	}
	if len(args) == 0 {
		fmt.Fprintln(io.Stderr, accountUsage)
		return fmt.Errorf("%w: account needs an action", ErrUsage)
	}
	action := args[0]
	var roleText string
	st := newSetup("account "+action, io)
	fs := st.fs
	if action == "create" {
		fs.StringVar(&roleText, "role", "", "administrator or operator")
	}
	if err := st.parse(args[1:]); err != nil {
		return err
	}
	name := fs.Arg(0)
	if action != "list" && (fs.NArg() != 1 || name == "") {
		fmt.Fprintln(io.Stderr, accountUsage)
		return fmt.Errorf("%w: account %s needs exactly one account name", ErrUsage, action)
	}
	var role domain.AccountRole
	switch action {
	case "create":
		r, err := domain.ParseAccountRole(roleText)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrUsage, domain.ErrorMessage(err))
		}
		role = r
		if err := domain.ValidateAccountName(name); err != nil {
			return fmt.Errorf("%w: %s", ErrUsage, domain.ErrorMessage(err))
		}
	case "password", "disable", "enable", "list":
	default:
		fmt.Fprintln(io.Stderr, accountUsage)
		return fmt.Errorf("%w: unknown account action %q", ErrUsage, action)
	}

	// Read the password before opening the database, so that a wrong one
	// changes nothing.
	var hash string
	if action == "create" || action == "password" {
		pw, err := promptPassword(io)
		if err != nil {
			return err
		}
		if hash, err = auth.HashPassword(pw); err != nil {
			return fmt.Errorf("%s", domain.ErrorMessage(err))
		}
	}
	db, err := st.open(ctx)
	if err != nil {
		return err
	}
	defer st.close()
	by := st.actor()
	switch action {
	case "create":
		if _, err := db.CreateAccount(ctx, name, role, hash, by); err != nil {
			return err
		}
		fmt.Fprintf(io.Stdout, "account %s created as %s\n", name, role)
	case "password":
		if err := db.SetAccountPassword(ctx, name, hash, by); err != nil {
			return err
		}
		fmt.Fprintf(io.Stdout, "password of %s set; its sessions were ended\n", name)
	case "disable", "enable":
		if err := db.SetAccountDisabled(ctx, name, action == "disable", by); err != nil {
			return err
		}
		fmt.Fprintf(io.Stdout, "account %s %sd\n", name, action)
	case "list":
		accounts, err := db.ListAccounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(io.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tDISABLED\tLAST SIGN-IN")
		for _, a := range accounts {
			last := "-"
			if a.LastLoginAt != nil {
				last = a.LastLoginAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", a.Username, a.Role, a.Disabled, last)
		}
		return tw.Flush()
	}
	return nil
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
