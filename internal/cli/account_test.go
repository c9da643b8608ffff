package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"idm/internal/cli"
	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// TestAccountRoleCommand: idm account role changes a role by the Admin
// page's rule (domain.CheckRoleChange, in the store): the last enabled
// administrator stays one; each change is audited as cli:USER, a refusal
// changes nothing; a wrong command line is a usage error.
func TestAccountRoleCommand(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		p := newProgram(t, dbURL)
		p.run(t, e2ePassword+"\n", "account", "create", "--role", "administrator", "alice")
		p.run(t, e2ePassword+"\n", "account", "create", "--role", "operator", "olle")
		for _, tc := range []struct {
			name, account string
			role          domain.AccountRole
			want          string
		}{
			{"OKPromote", "olle", domain.RoleAdministrator, "account olle is now an administrator; its sessions were ended"},
			{"OKDemote", "alice", domain.RoleOperator, "account alice is now an operator; its sessions were ended"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if out := p.run(t, "", "account", "role", "--role", string(tc.role), tc.account); strings.TrimSpace(out) != tc.want {
					t.Errorf("stdout %q, want %q", out, tc.want)
				}
			})
		}
		refusals := []struct {
			name string
			args []string
			exit int
			want string
		}{
			{"ErrLastAdministrator", []string{"--role", "operator", "olle"}, 1, "olle is the last enabled administrator: make another account an administrator first"},
			{"ErrNoSuchAccount", []string{"--role", "operator", "nobody"}, 1, `No account named "nobody"`},
			{"ErrUnknownRole", []string{"--role", "root", "olle"}, 2, `Unknown role "root"`},
			{"ErrNoRole", []string{"olle"}, 2, "Unknown role"},
			{"ErrNoName", []string{"--role", "operator"}, 2, "account role needs exactly one account name"},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				var out, errOut bytes.Buffer
				err := cli.Run(context.Background(), append([]string{"account", "role"}, tc.args...), p.io("", &out, &errOut))
				if cli.ExitCode(err) != tc.exit || err == nil || !strings.Contains(err.Error(), tc.want) || out.Len() != 0 {
					t.Fatalf("exit %d, error %v, stdout %q; want exit %d and %q", cli.ExitCode(err), err, out.String(), tc.exit, tc.want)
				}
			})
		}
		db := testenv.MustOpenDB(t, dbURL)
		if a, err := db.AccountByName(context.Background(), "olle"); err != nil || a.Role != domain.RoleAdministrator {
			t.Fatalf("olle %+v (%v): the refusal changed the role", a, err)
		}
		events, total, err := db.FindAudit(context.Background(), store.AuditFilter{Action: domain.AuditAccountRole}, 0, 10)
		if err != nil || total != 2 {
			t.Fatalf("%d role changes audited (%v), want 2", total, err)
		}
		if ev := events[0]; ev.Target != "alice" || ev.Detail != "role administrator → operator" || !strings.HasPrefix(ev.Actor, "cli:") {
			t.Errorf("last role audit %+v, want alice demoted by cli:USER", ev)
		}
	})
}
