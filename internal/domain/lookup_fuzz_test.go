package domain_test

import (
	"math"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"idm/internal/domain"
)

// FuzzLookupChecks: the checks of what a path or query names never panic,
// refuse with their code and a message, and let through only one line of
// UTF-8 text that fits the column it is looked up in, so that no value
// reaches the database that PostgreSQL refuses or SQLite cuts at a NUL; a
// page number they accept gives an offset that fits an INTEGER at any page
// size up to 200.
func FuzzLookupChecks(f *testing.F) {
	for _, s := range []string{"", "ann", "a/b%c?d#e", "\x00", "\xff", "a\nb", strings.Repeat("a", 257), "2", "0", "-1",
		"10000000", "4611686018427387904", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "active", "<b>", "*", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			name  string
			err   error
			code  string // of a refusal
			width int
		}{
			{"CheckSearchText", domain.CheckSearchText(s), domain.EINVALID, domain.MaxSearchTextLength},
			{"CheckUsername", domain.CheckUsername(s), domain.ENOTFOUND, domain.MaxUsernameLength},
			{"CheckRunID", domain.CheckRunID(s), domain.ENOTFOUND, domain.MaxRunIDLength},
			{"CheckUserID", domain.CheckUserID(s), domain.ENOTFOUND, domain.MaxUserIDLength},
			{"CheckWebhookID", domain.CheckWebhookID(s), domain.ENOTFOUND, domain.MaxWebhookIDLength},
			{"CheckAccountLookup", domain.CheckAccountLookup(s), domain.ENOTFOUND, 64}, // accounts.name
		} {
			if c.err != nil {
				if domain.ErrorCode(c.err) != c.code || domain.ErrorMessage(c.err) == "" {
					t.Fatalf("%s(%q) refused with %q %q, want %s and a message", c.name, s, domain.ErrorCode(c.err), domain.ErrorMessage(c.err), c.code)
				}
				continue
			}
			if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 || utf8.RuneCountInString(s) > c.width {
				t.Fatalf("%s accepted %q, which no %d-character column of one-line text holds", c.name, s, c.width)
			}
		}
		if _, err := domain.LookupJobKey(s); err == nil && s != string(domain.JobActive) && s != string(domain.JobInactive) {
			t.Fatalf("LookupJobKey accepted %q", s)
		}
		n, err := domain.ParsePage(s)
		switch {
		case err != nil && domain.ErrorCode(err) != domain.EINVALID:
			t.Fatalf("ParsePage(%q) refused with %v", s, err)
		case err == nil && (n < 1 || n > domain.MaxPage || int64(n-1)*200 > math.MaxInt32):
			t.Fatalf("ParsePage(%q) = %d, whose offset does not fit", s, n)
		}
	})
}
