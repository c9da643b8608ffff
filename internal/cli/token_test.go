package cli_test

import (
	"strings"
	"testing"

	"idm/internal/cli"
)

// TestTokenCommands: idm token create prints the token alone on standard
// output (and never again), list shows it without the token, revoke ends
// it; bad input is refused with the page's messages, named by flag.
func TestTokenCommands(t *testing.T) {
	p := newSyncProgram(t)
	p.env["IDM_TIMEZONE"] = "Asia/Tokyo"
	if _, _, err := p.run("correct horse battery\n", "account", "create", "--role", "operator", "svc-ci"); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := p.run("", "token", "create", "--account", "svc-ci", "--name", "deploy", "--expires", "30d")
	if err != nil {
		t.Fatalf("create: %v %s", err, errOut)
	}
	token := strings.TrimSpace(out)
	if !strings.HasPrefix(token, "idm_") || len(token) != 47 || strings.Contains(errOut, token) {
		t.Fatalf("stdout %q, stderr %q: want the token alone on stdout", out, errOut)
	}
	if !strings.Contains(errOut, "shown only now") {
		t.Errorf("stderr %q does not say the token is shown once", errOut)
	}
	if _, stamp, _ := strings.Cut(errOut, "expires "); !shownTime.MatchString(stamp) {
		t.Errorf("stderr %q: want the expiry in the configured zone (Asia/Tokyo)", errOut)
	}
	list := p.must("token", "list")
	if strings.Contains(list, token) || !strings.Contains(list, "deploy") || !strings.Contains(list, "svc-ci") || !strings.Contains(list, "active") || !strings.Contains(list, " JST") {
		t.Fatalf("list:\n%s", list)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]

	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"ErrDuplicate", []string{"--account", "svc-ci", "--name", "deploy"}, "--name: The account svc-ci already has a token named deploy"},
		{"ErrNever", []string{"--account", "svc-ci", "--name", "x", "--expires", "never"}, "--expires: Every token expires"},
		{"ErrNoAccount", []string{"--account", "nobody", "--name", "x"}, "--account: There is no account named nobody"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := p.run("", append([]string{"token", "create"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
				t.Fatalf("error %v, stdout %q; want %q", err, out, tc.want)
			}
		})
	}
	if got := p.must("token", "revoke", id); !strings.Contains(got, "deploy of account svc-ci revoked") {
		t.Fatalf("revoke: %q", got)
	}
	if _, _, err := p.run("", "token", "revoke", id); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Fatalf("second revoke: %v", err)
	}
	if list := p.must("token", "list"); !strings.Contains(list, "revoked") {
		t.Fatalf("list after revoke:\n%s", list)
	}
	if _, _, err := p.run("", "token", "frob"); cli.ExitCode(err) != 2 {
		t.Fatalf("unknown action: %v", err)
	}
}
