package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"idm/internal/cli"
)

// TestSubcommandUsage: asking a subcommand for help prints its usage and
// succeeds; a missing action prints the usage once and fails with a
// message that says what is missing. main prints "idm: " and the error.
func TestSubcommandUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		exit     int
		stdout   string // the usage, when help was asked for
		stderr   string // the usage, when the command line was wrong
		errorMsg string
	}{
		{"LDAPHelp", []string{"ldap", "-h"}, 0, "idm ldap show [--json]", "", ""},
		{"LDAPLongHelp", []string{"ldap", "--help"}, 0, "idm ldap configure", "", ""},
		{"LDAPNoAction", []string{"ldap"}, 2, "", "idm ldap show [--json]", "usage: ldap needs an action"},
		{"LDAPUnknownAction", []string{"ldap", "frob"}, 2, "", "idm ldap show [--json]", `usage: unknown ldap action "frob"`},
		{"JobHelp", []string{"job", "-h"}, 0, "idm job run active|inactive", "", ""},
		{"JobNoAction", []string{"job"}, 2, "", "idm job run active|inactive", "usage: job needs the action run"},
		{"JobRunNoJob", []string{"job", "run"}, 2, "", "idm job run active|inactive", "usage: job run needs one job, active or inactive"},
		{"UserHelp", []string{"user", "help"}, 0, "idm user show USERNAME", "", ""},
		{"UserNoAction", []string{"user"}, 2, "", "idm user show USERNAME", "usage: user needs the action show"},
		{"AccountHelp", []string{"account", "-h"}, 0, "idm account create", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := cli.Run(context.Background(), tt.args, cli.IO{
				Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
			})
			if code := cli.ExitCode(err); code != tt.exit {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.exit)
			}
			if tt.errorMsg != "" && (err == nil || err.Error() != tt.errorMsg) {
				t.Errorf("error %v, want %q", err, tt.errorMsg)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", out.String(), errOut.String(), tt.stdout, tt.stderr)
			}
			all := out.String() + errOut.String()
			if err != nil {
				all += err.Error()
			}
			for _, bad := range []string{"usage: usage:", "unknown ldap action \"-", "unknown ldap action \"help"} {
				if strings.Contains(all, bad) {
					t.Errorf("output says %q:\n%s", bad, all)
				}
			}
		})
	}
}
