package domain_test

import (
	"strings"
	"testing"

	"idm/internal/domain"
)

func TestStoredPasswordFits(t *testing.T) {
	cur := goodSettings() // ldaps://dc1.example.com:636, cn=admin,dc=example,dc=com
	cur.BindPasswordEnc = "sealed"
	tests := []struct {
		name string
		edit func(*domain.LDAPSettings)
		want bool
	}{
		{"SameServer", func(*domain.LDAPSettings) {}, true},
		{"DefaultPortWrittenOut", func(s *domain.LDAPSettings) { s.URL = "ldaps://dc1.example.com" }, true},
		{"HostCase", func(s *domain.LDAPSettings) { s.URL = "ldaps://DC1.Example.COM:636" }, true},
		{"OtherSettingsChanged", func(s *domain.LDAPSettings) { s.PageSize, s.ActiveFilter, s.BaseDN = 7, "(uid=a)", "ou=x" }, true},
		{"VerificationSwitchedOn", func(s *domain.LDAPSettings) {}, true},
		{"OtherHost", func(s *domain.LDAPSettings) { s.URL = "ldaps://evil.example.net:636" }, false},
		{"OtherPort", func(s *domain.LDAPSettings) { s.URL = "ldaps://dc1.example.com:6360" }, false},
		{"PlainLDAP", func(s *domain.LDAPSettings) { s.URL = "ldap://dc1.example.com:636" }, false},
		{"StartTLSChanged", func(s *domain.LDAPSettings) { s.URL, s.StartTLS = "ldap://dc1.example.com:636", true }, false},
		{"VerificationSwitchedOff", func(s *domain.LDAPSettings) { s.InsecureSkipVerify = true }, false},
		{"OtherCA", func(s *domain.LDAPSettings) { s.CACert = "-----BEGIN CERTIFICATE-----" }, false},
		{"OtherBindDN", func(s *domain.LDAPSettings) { s.BindDN = "cn=root,dc=example,dc=com" }, false},
		{"InvalidURL", func(s *domain.LDAPSettings) { s.URL = "ldaps://dc1.example.com:70000" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := cur
			tc.edit(&next)
			if got := domain.StoredPasswordFits(cur, next); got != tc.want {
				t.Errorf("StoredPasswordFits = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("VerificationAlreadyOff", func(t *testing.T) {
		off := cur
		off.InsecureSkipVerify = true
		next := off
		if !domain.StoredPasswordFits(off, next) {
			t.Error("keeping verification off refused")
		}
		next.InsecureSkipVerify = false
		if !domain.StoredPasswordFits(off, next) {
			t.Error("switching verification on refused")
		}
	})
}

func TestValidateLDAPChange(t *testing.T) {
	cur := goodSettings()
	cur.BindPasswordEnc = "sealed"
	moved := cur
	moved.URL = "ldaps://evil.example.net"
	tests := []struct {
		name       string
		cur, next  domain.LDAPSettings
		pw         domain.BindPassword
		wantField  string // "" for OK
		wantPrefix string
	}{
		{"OKKeepStoredForSameServer", cur, cur, domain.BindPassword{}, "", ""},
		{"OKNewPasswordForNewServer", cur, moved, domain.BindPassword{New: "s3cret pass"}, "", ""},
		{"OKRemovePasswordForNewServer", cur, moved, domain.BindPassword{Clear: true}, "", ""},
		{"OKNoStoredPassword", goodSettings(), moved, domain.BindPassword{}, "", ""},
		{"ErrStoredPasswordToNewServer", cur, moved, domain.BindPassword{}, "bind_password", "The server, its TLS settings or the bind DN changed: enter the bind password again"},
		{"ErrPasswordAndRemove", cur, cur, domain.BindPassword{New: "x", Clear: true}, "bind_password", "Enter a new password or remove the stored one, not both"},
		{"ErrPasswordNUL", cur, cur, domain.BindPassword{New: "a\x00b"}, "bind_password", "The password contains a NUL byte."},
		{"ErrPasswordInvalidUTF8", cur, cur, domain.BindPassword{New: "\xff"}, "bind_password", "The password is not valid UTF-8 text."},
		{"ErrPasswordOverlong", cur, cur, domain.BindPassword{New: strings.Repeat("p", 1025)}, "bind_password", "The password is 1025 characters long"},
		{"ErrSettingsToo", cur, func() domain.LDAPSettings { s := moved; s.PageSize = 0; return s }(), domain.BindPassword{}, "page_size", "Page size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateLDAPChange(tc.cur, tc.next, tc.pw)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			msg, ok := fieldErrors(t, err).Map()[tc.wantField]
			if !ok || !strings.HasPrefix(msg, tc.wantPrefix) {
				t.Fatalf("errors %v; want at %s %q…", err, tc.wantField, tc.wantPrefix)
			}
		})
	}
	t.Run("BothRulesAtOnce", func(t *testing.T) {
		next := moved
		next.PageSize = 0
		m := fieldErrors(t, domain.ValidateLDAPChange(cur, next, domain.BindPassword{})).Map()
		if m["page_size"] == "" || m["bind_password"] == "" {
			t.Errorf("errors %v, want page_size and bind_password", m)
		}
	})
}
