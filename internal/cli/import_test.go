package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"idm/internal/cli"
)

// Issue 10 item 8: a line that is not UTF-8 is refused with its number (the
// JSON decoder would have stored U+FFFD in its place); every field is held
// to its column and to clean text, as the directory's values are.
func TestImportRefusesHostileRecords(t *testing.T) {
	p := newProgram(t, "")
	lines := []string{
		`{"username":"good"}`,
		"{\"username\":\"bad\xffname\"}",
		`{"username":"nul","surname":"D\u0000e"}`,
		`{"username":"` + strings.Repeat("é", 257) + `"}`,
		`{"username":"cr","credentials":[{"type":"card","serial":"` + strings.Repeat("9", 129) + `","state":"active"}]}`,
		`{"username":"role","roles":["A\u0000"]}`,
		`{"username":"line","title":"a\nb"}`,
	}
	file := writeTestFile(t, "users.jsonl", strings.Join(lines, "\n")+"\n")
	var out, errOut bytes.Buffer
	err := cli.Run(context.Background(), []string{"import", file}, p.io("", &out, &errOut))
	if err == nil {
		t.Fatal("import with bad records succeeded")
	}
	for _, want := range []string{
		"users.jsonl:2: the line is not valid UTF-8 text (byte 17, 0xff, is not)",
		`users.jsonl:3: user "nul": surname contains a NUL byte`,
		"username is 257 characters, longer than the 256 allowed",
		"users.jsonl:5: credentials[0]: serial must be 1 to 128 characters",
		"users.jsonl:6: roles[0]: a role name contains a NUL byte",
		`users.jsonl:7: user "line": title contains a line break`,
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	if !strings.Contains(out.String(), "7 records read: 1 imported") {
		t.Errorf("summary: %s", out.String())
	}
	export := p.run(t, "", "export", "--json")
	if strings.Count(export, "\n") != 1 || !strings.Contains(export, `"username":"good"`) || strings.Contains(export, "\uFFFD") {
		t.Errorf("stored:\n%s", export)
	}
}

func TestAccountPasswordRules(t *testing.T) {
	p := newProgram(t, "")
	for name, pw := range map[string]string{
		"NUL": "twelve chars\x00more", "Over72Bytes": strings.Repeat("p", 73), "InvalidUTF8": "twelve chars\xff",
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := cli.Run(context.Background(), []string{"account", "create", "--role", "operator", "bob"}, p.io(pw+"\n", &out, &errOut))
			if err == nil || !strings.HasPrefix(err.Error(), "password ") || strings.Contains(err.Error(), "invalid:") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if list := p.run(t, "", "account", "list"); strings.Contains(list, "bob") {
		t.Fatalf("bob was created:\n%s", list)
	}
}
