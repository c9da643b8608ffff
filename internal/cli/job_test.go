package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"idm/internal/cli"
	"idm/internal/domain"
	"idm/internal/testenv"
)

// syncProgram runs idm commands against one data directory, as a person would.
type syncProgram struct {
	t   *testing.T
	env map[string]string
}

func newSyncProgram(t *testing.T) *syncProgram {
	dir := t.TempDir()
	return &syncProgram{t: t, env: map[string]string{
		"IDM_DATA_DIR": dir, "IDM_LOG_LEVEL": "error", "USER": "tester",
	}}
}

func (p *syncProgram) run(stdin string, args ...string) (stdout, stderr string, err error) {
	p.t.Helper()
	var out, errb bytes.Buffer
	err = cli.Run(context.Background(), args, cli.IO{
		Getenv: func(k string) string { return p.env[k] }, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
	})
	return out.String(), errb.String(), err
}

func (p *syncProgram) must(args ...string) string {
	p.t.Helper()
	out, errOut, err := p.run("", args...)
	if err != nil {
		p.t.Fatalf("idm %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func writeTestFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const daveRecord = `{"username":"dave","given_name":"Dave","state":"active","credentials":[` +
	`{"type":"card","serial":"C1","state":"active","certificates":[{"serial":"01","issuer":"CN=CA","subject":"CN=Dave","not_before":"2025-01-01T00:00:00Z","not_after":"2099-01-01T00:00:00Z","state":"active"},{"serial":"02","issuer":"CN=CA","not_before":"2025-01-01T00:00:00Z","not_after":"2099-01-01T00:00:00Z","state":"revoked","revocation_reason":"keyCompromise"}]},` +
	`{"type":"temporary_card","serial":"T1","state":"active","certificates":[{"serial":"03","issuer":"CN=CA","not_before":"2025-01-01T00:00:00Z","not_after":"2099-01-01T00:00:00Z","state":"active"},{"serial":"04","issuer":"CN=CA","not_before":"2020-01-01T00:00:00Z","not_after":"2021-01-01T00:00:00Z","state":"expired"}]},` +
	`{"type":"virtual_smart_card","serial":"V1","state":"active","certificates":[{"serial":"05","issuer":"CN=CA","not_before":"2025-01-01T00:00:00Z","not_after":"2099-01-01T00:00:00Z","state":"active"}]},` +
	`{"type":"mobile_id","serial":"M1","state":"active","certificates":[{"serial":"06","issuer":"CN=CA","not_before":"2025-01-01T00:00:00Z","not_after":"2099-01-01T00:00:00Z","state":"active"}]},` +
	`{"type":"soft_token","serial":"S1","state":"active","certificates":[{"serial":"07","issuer":"CN=CA","not_before":"2025-01-01T00:00:00Z","not_after":"2099-01-01T00:00:00Z","state":"active"}]}` +
	`],"roles":["Employee","Approver"]}`

func TestCommandLineSync(t *testing.T) {
	sl := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"))
	p := newSyncProgram(t)
	p.env["IDM_TIMEZONE"] = "Asia/Tokyo" // times for people in it, JSON in RFC 3339

	pwFile := writeTestFile(t, "bind.pw", sl.AdminPassword+"\n")
	p.must("ldap", "configure", "--preset", "openldap", "--url", sl.URL, "--bind-dn", sl.AdminDN,
		"--bind-password-file", pwFile, "--base-dn", sl.BaseDN, "--page-size", "3",
		"--deactivate-max-percent", "100", "--map", "title=title")
	show := p.must("ldap", "show")
	if !strings.Contains(show, "set (hidden)") || strings.Contains(show, sl.AdminPassword) {
		t.Errorf("ldap show must say the password is set and never print it:\n%s", show)
	}
	if _, _, err := p.run("", "ldap", "configure", "--url", "http://wrong"); err == nil {
		t.Error("ldap configure accepted an http:// URL")
	}

	t.Run("ImportReportsBadLinesAndWritesNothingOfThem", func(t *testing.T) {
		file := writeTestFile(t, "users.jsonl", daveRecord+"\n\n"+
			`{"username":"mallory","credentials":[{"type":"badge","serial":"B1","state":"active"}]}`+"\n"+
			`{"username":"oscar", "state":`+"\n")
		out, errOut, err := p.run("", "import", file)
		if err == nil {
			t.Fatal("import with bad records succeeded")
		}
		if !strings.Contains(errOut, "users.jsonl:3:") || !strings.Contains(errOut, "badge") || !strings.Contains(errOut, "users.jsonl:4:") {
			t.Errorf("stderr does not name the bad lines:\n%s", errOut)
		}
		if !strings.Contains(out, "3 records read: 1 imported (1 changed") {
			t.Errorf("summary: %s", out)
		}
		if _, _, err := p.run("", "user", "show", "mallory"); err == nil {
			t.Error("a rejected record was written")
		}
		out = p.must("import", writeTestFile(t, "again.jsonl", daveRecord+"\n"))
		if !strings.Contains(out, "0 changed, 1 already up to date") {
			t.Errorf("re-import changed something: %s", out)
		}
	})

	t.Run("InactiveJobEndStates", p.inactiveJobEndStates)
	t.Run("RunsAndChangesAuditedAsTheUser", p.auditedAsTheUser)

	t.Run("ExportRoundTrips", func(t *testing.T) {
		p.must("job", "run", "active")
		out := p.must("export", "--json")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 10 {
			t.Fatalf("export wrote %d users, want 10", len(lines))
		}
		res := p.must("import", writeTestFile(t, "export.jsonl", out))
		if !strings.Contains(res, "10 imported (0 changed") {
			t.Errorf("importing an export changed something: %s", res)
		}
	})

	t.Run("FailedRunExitsNonZero", func(t *testing.T) {
		sl.Stop()
		out, _, err := p.run("", "job", "run", "active")
		var rf *cli.RunFailedError
		if !errors.As(err, &rf) || cli.ExitCode(err) == 0 || rf.Status != domain.RunSafetyStop {
			t.Fatalf("run with the directory down: %v", err)
		}
		if !strings.Contains(out, "stopped by a safety check") {
			t.Errorf("run record:\n%s", out)
		}
	})
}

// inactiveJobEndStates runs the inactive job and checks dave's end states.
func (p *syncProgram) inactiveJobEndStates(t *testing.T) {
	out := p.must("job", "run", "inactive", "--json")
	var run domain.Run
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatalf("run record: %v\n%s", err, out)
	}
	if run.Status != domain.RunSucceeded || run.Deactivated != 1 || run.Created != 2 || run.Trigger != domain.TriggerCLI {
		t.Fatalf("run %+v", run)
	}
	var user struct {
		State       string `json:"state"`
		Credentials []struct {
			Type         string `json:"type"`
			State        string `json:"state"`
			Certificates []struct {
				Serial, State, RevocationReason string
			} `json:"certificates"`
		} `json:"credentials"`
		Roles          []string          `json:"roles"`
		WithdrawnRoles []json.RawMessage `json:"withdrawn_roles"`
	}
	out = p.must("user", "show", "dave", "--json")
	if err := json.Unmarshal([]byte(out), &user); err != nil {
		t.Fatal(err)
	}
	if user.State != "inactive" || len(user.Roles) != 0 || len(user.WithdrawnRoles) != 2 {
		t.Errorf("dave: %s", out)
	}
	wantCert := map[string]string{"01": "on_hold", "02": "revoked", "03": "revoked", "04": "expired", "05": "on_hold", "06": "on_hold", "07": "on_hold"}
	for _, c := range user.Credentials {
		wantCred, _, _ := domain.DeactivationTarget(domain.CredentialType(c.Type))
		if c.State != string(wantCred) {
			t.Errorf("%s: %s, want %s", c.Type, c.State, wantCred)
		}
		for _, k := range c.Certificates {
			if k.State != wantCert[k.Serial] {
				t.Errorf("certificate %s: %s, want %s", k.Serial, k.State, wantCert[k.Serial])
			}
		}
	}
	text := p.must("user", "show", "dave")
	if !strings.Contains(text, "on hold (certificateHold)") || !strings.Contains(text, "withdrawn") {
		t.Errorf("user show:\n%s", text)
	}
	shownNow(t, text, "Updated:", "withdrawn")

	again := p.must("job", "run", "inactive")
	if !strings.Contains(again, "Status:    succeeded") || !strings.Contains(again, "unchanged 3") {
		t.Errorf("second run:\n%s", again)
	}
	shownNow(t, again, "Started:", "Finished:")
}

// shownTime is a moment as the command line shows it to people in
// Asia/Tokyo: domain.TimeLayout, "2026-12-01 16:53:23 JST".
var shownTime = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST`)

// shownNow checks that in text each label is followed by a moment of the
// last minute, as people read it in the configured zone (Asia/Tokyo), and
// that no moment is shown in RFC 3339.
func shownNow(t *testing.T, text string, labels ...string) {
	t.Helper()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, label := range labels {
		_, after, found := strings.Cut(text, label)
		stamp := shownTime.FindString(strings.TrimLeft(after, " "))
		at, err := time.ParseInLocation(domain.TimeLayout, stamp, tokyo)
		if !found || err != nil || time.Since(at) > time.Minute || time.Since(at) < -time.Second {
			t.Errorf("%s not followed by a moment of the last minute in Asia/Tokyo (%q, %v):\n%s", label, stamp, err, text)
		}
	}
	if rfc3339 := regexp.MustCompile(`\dT\d\d:\d\d:\d\d`); rfc3339.MatchString(text) {
		t.Errorf("a moment in RFC 3339 shown to people:\n%s", text)
	}
}

// auditedAsTheUser: the command line's changes and runs are audited as
// cli:USER.
func (p *syncProgram) auditedAsTheUser(t *testing.T) {
	db := testenv.MustOpenDB(t, "sqlite://"+filepath.Join(p.env["IDM_DATA_DIR"], "idm.db"))
	events, _, err := db.ListAudit(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, ev := range events {
		if ev.Actor != "cli:tester" {
			t.Errorf("audit event %s by %q, want cli:tester", ev.Action, ev.Actor)
		}
		actions[ev.Action]++
	}
	if actions[domain.AuditLDAPSave] != 1 || actions[domain.AuditJobRun] != 2 {
		t.Errorf("audit actions %v, want the LDAP save and both runs", actions)
	}
}

func FuzzParseImportLine(f *testing.F) {
	f.Add([]byte(daveRecord))
	f.Add([]byte(`{"username":"x","state":"inactive","roles":["A","A"," "]}`))
	f.Add([]byte(`{"username":""}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		d, err := cli.ParseUserRecord(line)
		if err != nil {
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("parse error is not a person-readable EINVALID: %v", err)
			}
			return
		}
		if d.Username == "" || domain.ValidatePerson(domain.Person{Username: d.Username, DN: d.DN}) != nil {
			t.Fatalf("accepted an invalid user %+v", d.User)
		}
		if d.State != domain.UserActive && d.State != domain.UserInactive {
			t.Fatalf("accepted state %q", d.State)
		}
		for _, c := range d.Credentials {
			if !c.Type.Valid() || !c.State.Valid() || c.Serial == "" {
				t.Fatalf("accepted credential %+v", c.Credential)
			}
			for _, k := range c.Certificates {
				if !k.State.Valid() || !k.NotAfter.After(k.NotBefore) || k.Issuer == "" {
					t.Fatalf("accepted certificate %+v", k)
				}
			}
		}
	})
}
