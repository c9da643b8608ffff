package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os/user"

	"idm/internal/config"
	"idm/internal/engine"
	"idm/internal/secret"
	"idm/internal/store"
)

// setup is what every subcommand that opens the database shares: its flag
// set with the common flags, the configuration they fill, the store once
// opened, and who runs the command.
type setup struct {
	io  IO
	cfg config.Config
	fs  *flag.FlagSet
	db  *store.DB
}

// newSetup makes the flag set of subcommand name with the common flags
// (data directory, database, time zone, secret key, logging); the caller
// adds its own flags before parsing.
func newSetup(name string, io IO) *setup {
	s := &setup{io: io, fs: newFlagSet(name, io)}
	s.cfg.Register(s.fs, io.Getenv)
	return s
}

// parse parses args, flags only.
func (s *setup) parse(args []string) error { return parse(s.fs, args) }

// parseInterspersed parses args, flags among positionals, and returns the
// positionals.
func (s *setup) parseInterspersed(args []string) ([]string, error) {
	return parseInterspersed(s.fs, args)
}

// onlyArgument parses args (flags may come after it) and returns the one
// positional argument the command takes; usage says what it is.
func (s *setup) onlyArgument(args []string, usage, need string) (string, error) {
	pos, err := s.parseInterspersed(args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		fmt.Fprintln(s.io.Stderr, usage)
		return "", fmt.Errorf("%w: %s", ErrUsage, need)
	}
	return pos[0], nil
}

// wantAction checks that args start with action (idm job run, idm user
// show): -h prints usage and ends with flag.ErrHelp (exit 0), anything else
// prints usage and says which action the command needs.
func wantAction(io IO, args []string, command, action, usage string) error {
	if wantsHelp(args) {
		fmt.Fprintln(io.Stdout, usage)
		return flag.ErrHelp
	}
	if len(args) == 0 || args[0] != action {
		fmt.Fprintln(io.Stderr, usage)
		return fmt.Errorf("%w: %s needs the action %s", ErrUsage, command, action)
	}
	return nil
}

// actionFunc is one action of a command made of actions (idm ldap show): it
// gets the arguments after the action's name.
type actionFunc func(ctx context.Context, io IO, args []string) error

// runAction runs the action args[0] names among actions of command: -h
// prints usage and succeeds; no action, or an unknown one, prints usage and
// is a usage error that says so (need: what a missing action's message says
// the command needs).
func runAction(ctx context.Context, io IO, args []string, command, usage, need string, actions map[string]actionFunc) error {
	if wantsHelp(args) {
		fmt.Fprintln(io.Stdout, usage)
		return nil
	}
	if len(args) == 0 {
		fmt.Fprintln(io.Stderr, usage)
		return fmt.Errorf("%w: %s needs %s", ErrUsage, command, need)
	}
	if run, ok := actions[args[0]]; ok {
		return run(ctx, io, args[1:])
	}
	fmt.Fprintln(io.Stderr, usage)
	return fmt.Errorf("%w: unknown %s action %q", ErrUsage, command, args[0])
}

// parseWithStore parses args (flags only), then runs body withStore.
func (s *setup) parseWithStore(ctx context.Context, args []string, body func(db *store.DB) error) error {
	if err := s.parse(args); err != nil {
		return err
	}
	return s.withStore(ctx, body)
}

// withStore opens the store, hands it to body and closes it after.
func (s *setup) withStore(ctx context.Context, body func(db *store.DB) error) error {
	db, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	return body(db)
}

// open resolves the configuration, sets the logger it asks for, opens the
// database and applies pending migrations. close closes it.
func (s *setup) open(ctx context.Context) (*store.DB, error) {
	if err := s.cfg.Resolve(); err != nil {
		return nil, err
	}
	slog.SetDefault(s.cfg.Logger(s.io.Stderr))
	db, err := store.Open(ctx, s.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.db = db
	return db, nil
}

// close closes the store open opened.
func (s *setup) close() {
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			slog.Warn("close the database", "err", err)
		}
	}
}

// box is the secret box of the configuration (after open).
func (s *setup) box() (*secret.Box, error) { return s.cfg.SecretBox() }

// actor names the person running the command, as the audit log and the run
// records name them: cli: and their user name from $USER, else from the
// operating system, else "unknown".
func (s *setup) actor() string {
	name := s.io.Getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil && u.Username != "" {
			name = u.Username
		} else {
			name = "unknown"
		}
	}
	return engine.CLIActor(name)
}
