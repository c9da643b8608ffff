package cli_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"idm/internal/testenv"
)

// importLine is a record of the import format for user name holding card
// serial.
func importLine(name, serial string) string {
	return fmt.Sprintf(`{"username":%q,"credentials":[{"type":"card","serial":%q,"state":"active","certificates":[`+
		`{"serial":"%s-1","issuer":"CN=CA","not_before":"2025-01-01T00:00:00Z","not_after":"2099-01-01T00:00:00Z","state":"active"}]}],"roles":["Employee"]}`,
		name, serial, serial)
}

// TestImportInBatches: a file longer than a batch is imported whole; each
// bad record is reported with its line number, in line order, whether
// reading it failed or the store refused it, and nothing of it is written.
func TestImportInBatches(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		p := newSyncProgram(t)
		p.env["IDM_DATABASE_URL"] = url
		const n = 1203
		bad := map[int]string{
			3:    `{"username":"broken", "state":`,
			700:  importLine("thief", "card-5"), // user 5's card
			701:  "",
			1200: `{"username":"","credentials":[]}`,
		}
		var b strings.Builder
		for i := 1; i <= n; i++ {
			line, ok := bad[i]
			if !ok {
				line = importLine(fmt.Sprintf("user%d", i), fmt.Sprintf("card-%d", i))
			}
			b.WriteString(line + "\n")
		}
		out, errOut, err := p.run("", "import", writeTestFile(t, "users.jsonl", b.String()))
		if err == nil {
			t.Fatal("import with bad records succeeded")
		}
		if want := fmt.Sprintf("%d records read: %d imported (%d changed, 0 already up to date), 3 rejected", n-1, n-4, n-4); !strings.Contains(out, want) {
			t.Errorf("summary %q, want %q", out, want)
		}
		var lines []string
		for _, m := range regexp.MustCompile(`users\.jsonl:(\d+):`).FindAllStringSubmatch(errOut, -1) {
			lines = append(lines, m[1])
		}
		if got := strings.Join(lines, ","); got != "3,700,1200" || !strings.Contains(errOut, "belongs to another user") {
			t.Errorf("rejected lines %s, want 3,700,1200 in that order with the conflict named:\n%s", got, errOut)
		}
		if _, _, err := p.run("", "user", "show", "thief"); err == nil {
			t.Error("the rejected record was written")
		}
		again := p.must("import", writeTestFile(t, "again.jsonl", importLine("user1203", "card-1203")+"\n"))
		if !strings.Contains(again, "0 changed, 1 already up to date") {
			t.Errorf("the last record of the file was not imported: %s", again)
		}
	})
}
