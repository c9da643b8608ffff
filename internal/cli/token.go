package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/store"
)

const tokenUsage = `Usage:
  idm token create --account NAME --name LABEL [--expires 90d]
  idm token list
  idm token revoke ID

create prints the new API token alone on standard output, once: it is never
stored or shown again (the database keeps its SHA-256 hash). The token acts
with its account's role. --expires is 12h, 30d, 8w or 1y: at least 1 hour, at
most 1 year, 90 days by default; every token expires. A token dies when it is
revoked, when its account is disabled, and when its account is deleted.`

func runToken(ctx context.Context, io IO, args []string) error {
	return runAction(ctx, io, args, "token", tokenUsage, "an action: create, list or revoke", map[string]actionFunc{
		"create": createToken, "list": listTokens, "revoke": revokeToken,
	})
}

// createToken is idm token create: the token on standard output, what it
// is on standard error, so that TOKEN=$(idm token create …) keeps only it.
func createToken(ctx context.Context, io IO, args []string) error {
	st := newSetup("token create", io)
	account := st.fs.String("account", "", "the account the token acts as (its role is the token's)")
	name := st.fs.String("name", "", "what uses the token, as the audit log will name it (letters, digits, . _ -)")
	expires := st.fs.String("expires", "90d", "how long the token lives: 12h, 30d, 8w or 1y (at most 1 year)")
	if err := st.parse(args); err != nil {
		return err
	}
	if st.fs.NArg() != 0 {
		fmt.Fprintln(st.io.Stderr, tokenUsage)
		return fmt.Errorf("%w: token create takes only flags", ErrUsage)
	}
	return st.withStore(ctx, func(db *store.DB) error {
		plain, tok, err := auth.NewTokens(db, db.Now).Create(ctx, *account, *name, *expires, st.actor())
		if err != nil {
			return fmt.Errorf("token create: %w", err)
		}
		fmt.Fprintln(st.io.Stdout, plain)
		fmt.Fprintf(st.io.Stderr, "API token %s of account %s created (id %s), expires %s.\n"+
			"It is shown only now: keep it in a secret store. Use it as the header Authorization: Bearer TOKEN.\n",
			tok.Name, *account, tok.ID, domain.FormatTime(tok.ExpiresAt, st.cfg.Location))
		return nil
	})
}

func listTokens(ctx context.Context, io IO, args []string) error {
	st := newSetup("token list", io)
	return st.parseWithStore(ctx, args, func(db *store.DB) error {
		list, err := auth.NewTokens(db, db.Now).List(ctx)
		if err != nil {
			return err
		}
		printTokens(io, list, db.Now(), st.cfg.Location)
		return nil
	})
}

// printTokens writes the token list as a table; times in loc.
func printTokens(io IO, list []store.TokenDetail, now time.Time, loc *time.Location) {
	stamp := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return domain.FormatTime(*t, loc)
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tACCOUNT\tROLE\tSTATE\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
	for _, t := range list {
		created, expires := t.CreatedAt, t.ExpiresAt
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Account, t.Role, t.State(now),
			stamp(&created), stamp(&expires), stamp(t.LastUsedAt), stamp(t.RevokedAt))
	}
	_ = tw.Flush()
}

func revokeToken(ctx context.Context, io IO, args []string) error {
	st := newSetup("token revoke", io)
	id, err := st.onlyArgument(args, tokenUsage, "token revoke needs the token's id (idm token list shows it)")
	if err != nil {
		return err
	}
	return st.withStore(ctx, func(db *store.DB) error {
		tok, err := auth.NewTokens(db, db.Now).Revoke(ctx, id, st.actor())
		if err != nil {
			return fmt.Errorf("token revoke: %w", err)
		}
		fmt.Fprintf(st.io.Stdout, "API token %s of account %s revoked\n", tok.Name, tok.Account)
		return nil
	})
}
