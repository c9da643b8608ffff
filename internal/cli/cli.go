// Package cli is the idm program: one Run function that parses the command
// line and runs a subcommand, so tests boot the program exactly as a person
// runs it.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"idm/internal/domain"
)

// IO is what a subcommand reads and writes besides its arguments.
type IO struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Ready, when set, receives the HTTP address once serve listens (tests boot on port 0).
	Ready func(addr string)
}

type command struct {
	summary string
	run     func(ctx context.Context, io IO, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":   {"start the web server and the scheduler", runServe},
		"migrate": {"apply database migrations and exit", runMigrate},
		"account": {"create accounts, set passwords, disable, list", runAccount},
		"job":     {"run a batch job in the foreground", runJob},
		"import":  {"load users, credentials, certificates and roles from a JSON file", runImport},
		"export":  {"print the stored users with credentials, certificates and roles", runExport},
		"user":    {"show one stored user", runUser},
		"ldap":    {"show or configure the LDAP connection", runLDAP},
		"token":   {"create, list and revoke API tokens", runToken},
	}
}

// ErrUsage marks a command line that was wrong; the message says how.
var ErrUsage = errors.New("usage")

// ExitCode maps an error from Run to the process exit status.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	var rf *RunFailedError
	if errors.As(err, &rf) {
		return 3
	}
	return 1
}

// RunFailedError reports a job run that ended without success; the run
// record has already been printed.
type RunFailedError struct{ Status domain.RunStatus }

func (e *RunFailedError) Error() string { return "run ended: " + e.Status.Label() }

// Run runs the program with args (without the program name).
func Run(ctx context.Context, args []string, io IO) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.Stdout, cmds)
		if len(args) == 0 {
			return fmt.Errorf("%w: a subcommand is required", ErrUsage)
		}
		return nil
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		usage(io.Stderr, cmds)
		return fmt.Errorf("%w: unknown subcommand %q", ErrUsage, args[0])
	}
	return explain(cmd.run(ctx, io, args[1:]))
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "Usage: idm <subcommand> [flags]\n\nSubcommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun idm <subcommand> -h for its flags. Every flag can also be set with an IDM_* environment variable.")
}

// newFlagSet makes a flag set that writes its usage to io.Stderr and returns
// errors instead of exiting.
func newFlagSet(name string, io IO) *flag.FlagSet {
	fs := flag.NewFlagSet("idm "+name, flag.ContinueOnError)
	fs.SetOutput(io.Stderr)
	return fs
}

// wantsHelp reports whether args ask a subcommand for its usage rather
// than naming an action.
func wantsHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help")
}

// parse parses flags, turning a parse error into a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return nil
}

// readSecret reads one line (a password) from r without echoing it anywhere.
func readSecret(r io.Reader) (string, error) {
	var sb strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			sb.WriteByte(buf[0])
			if sb.Len() > 4096 {
				return "", errors.New("input line too long")
			}
		}
		if err == io.EOF {
			break
		} else if err != nil {
			return "", err
		}
	}
	return strings.TrimRight(sb.String(), "\r"), nil
}

// stdinIsTerminal reports whether r is an interactive terminal.
func stdinIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
