package domain_test

import (
	"strings"
	"testing"

	"idm/internal/domain"
)

func TestLookupChecks(t *testing.T) {
	jobKey := func(s string) error { _, err := domain.LookupJobKey(s); return err }
	page := func(s string) error { _, err := domain.ParsePage(s); return err }
	tests := []struct {
		name     string
		err      error
		code     string // "" for OK
		contains string
	}{
		{"OKSearch", domain.CheckSearchText("Åsa Doe"), "", ""},
		{"OKEmptySearch", domain.CheckSearchText(""), "", ""},
		{"ErrSearchNUL", domain.CheckSearchText("\x00"), domain.EINVALID, "The search text contains a NUL byte."},
		{"ErrSearchInvalidUTF8", domain.CheckSearchText("\xff"), domain.EINVALID, "The search text is not valid UTF-8 text."},
		{"ErrSearchOverlong", domain.CheckSearchText(strings.Repeat("a", 257)), domain.EINVALID, "at most 256 fit"},
		{"OKUsername", domain.CheckUsername("a/b%c?d#e"), "", ""},
		{"ErrUsernameNUL", domain.CheckUsername("\x00"), domain.ENOTFOUND, `There is no user "\x00".`},
		{"ErrUsernameOverlong", domain.CheckUsername(strings.Repeat("a", 257)), domain.ENOTFOUND, "There is no user"},
		{"ErrUsernameEmpty", domain.CheckUsername(""), domain.ENOTFOUND, "There is no user"},
		{"OKRunID", domain.CheckRunID("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), "", ""},
		{"ErrRunIDNUL", domain.CheckRunID("\x00"), domain.ENOTFOUND, `There is no run "\x00".`},
		{"ErrRunIDOverlong", domain.CheckRunID(strings.Repeat("a", 37)), domain.ENOTFOUND, "There is no run"},
		{"OKJobKey", jobKey("active"), "", ""},
		{"ErrJobKeyNUL", jobKey("\x00"), domain.ENOTFOUND, `There is no batch job "\x00".`},
		{"ErrJobKeyUnknown", jobKey("nightly"), domain.ENOTFOUND, `There is no batch job "nightly".`},
		{"OKAccount", domain.CheckAccountLookup("alice"), "", ""},
		{"ErrAccountNUL", domain.CheckAccountLookup("a\x00"), domain.ENOTFOUND, `There is no account "a\x00".`},
		{"OKWebhookID", domain.CheckWebhookID("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), "", ""},
		{"ErrWebhookIDNUL", domain.CheckWebhookID("\x00"), domain.ENOTFOUND, `There is no webhook "\x00".`},
		{"ErrWebhookIDInvalidUTF8", domain.CheckWebhookID("\xff"), domain.ENOTFOUND, "There is no webhook"},
		{"ErrWebhookIDOverlong", domain.CheckWebhookID(strings.Repeat("a", 37)), domain.ENOTFOUND, "There is no webhook"},
		{"OKNoPage", page(""), "", ""},
		{"OKPage", page("2"), "", ""},
		{"OKLastPage", page("10000000"), "", ""},
		{"ErrPageZero", page("0"), domain.EINVALID, `There is no page "0": pages are numbered from 1.`},
		{"ErrPageWord", page("next"), domain.EINVALID, `There is no page "next"`},
		{"ErrPageNUL", page("1\x00"), domain.EINVALID, `There is no page "1\x00"`},
		{"ErrPageBeyondMax", page("10000001"), domain.EINVALID, "There is no page"},
		{"ErrPageWrapsOffset", page("4611686018427387904"), domain.EINVALID, "There is no page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.ErrorCode(tc.err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, tc.err, tc.code)
			}
			if !strings.Contains(domain.ErrorMessage(tc.err), tc.contains) {
				t.Errorf("message %q, want %q", domain.ErrorMessage(tc.err), tc.contains)
			}
		})
	}
}

func TestAccountRules(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"OKName", domain.ValidateAccountName("alice.admin@corp"), ""},
		{"ErrNameNUL", domain.ValidateAccountName("a\x00"), "Account name must be 1 to 64"},
		{"ErrNameInvalidUTF8", domain.ValidateAccountName("a\xff"), "Account name must be"},
		{"ErrNameOverlong", domain.ValidateAccountName(strings.Repeat("a", 65)), "Account name must be"},
		{"ErrNameMarkup", domain.ValidateAccountName("<b>x</b>"), "Account name must be"},
		{"OKPassword", domain.ValidatePassword("correct horse battery"), ""},
		{"OKPassword72Bytes", domain.ValidatePassword(strings.Repeat("p", 72)), ""},
		{"ErrPasswordShort", domain.ValidatePassword("short"), "Password must be at least 12 characters"},
		{"ErrPassword73Bytes", domain.ValidatePassword(strings.Repeat("p", 73)), "Password must be at most 72 bytes (a bcrypt limit); this one is 73"},
		{"ErrPasswordMultibyteOver72Bytes", domain.ValidatePassword(strings.Repeat("é", 37)), "Password must be at most 72 bytes"},
		{"ErrPasswordNUL", domain.ValidatePassword("twelve chars\x00"), "Password contains a NUL byte"},
		{"ErrPasswordInvalidUTF8", domain.ValidatePassword("twelve chars\xff"), "Password is not valid UTF-8 text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.err, tc.want)
		})
	}
}
