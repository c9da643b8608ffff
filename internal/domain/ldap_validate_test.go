package domain_test

import (
	"errors"
	"strings"
	"testing"

	"idm/internal/domain"
)

// goodSettings are valid settings of the OpenLDAP preset.
func goodSettings() domain.LDAPSettings {
	s := domain.DefaultLDAPSettings()
	s.URL, s.BaseDN, s.BindDN = "ldaps://dc1.example.com:636", "dc=example,dc=com", "cn=admin,dc=example,dc=com"
	return s
}

// fieldErrors returns err's FieldErrors, failing the test when it holds none.
func fieldErrors(t *testing.T, err error) domain.FieldErrors {
	t.Helper()
	var fe domain.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want FieldErrors", err)
	}
	return fe
}

// wantError checks err against an expected outcome: nil when want is "",
// else code EINVALID and a message containing want.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
		return
	}
	if domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(domain.ErrorMessage(err), want) {
		t.Fatalf("err = %v, want EINVALID with %q", err, want)
	}
}

func TestLDAPSettingsValidate(t *testing.T) {
	ok := []struct {
		name string
		edit func(*domain.LDAPSettings)
	}{
		{"OK", func(*domain.LDAPSettings) {}},
		{"OKPlainLDAPWithStartTLS", func(s *domain.LDAPSettings) { s.URL, s.StartTLS = "ldap://dir.example.com", true }},
		{"OKUppercaseScheme", func(s *domain.LDAPSettings) { s.URL = "LDAPS://dc1.example.com" }},
		{"OKTrailingSlash", func(s *domain.LDAPSettings) { s.URL = "ldap://dir.example.com:389/" }},
		{"OKIPv6", func(s *domain.LDAPSettings) { s.URL = "ldap://[::1]:3890" }},
		{"OKPort1", func(s *domain.LDAPSettings) { s.URL = "ldap://dir.example.com:1" }},
		{"OKPort65535", func(s *domain.LDAPSettings) { s.URL = "ldap://dir.example.com:65535" }},
		{"OKActiveDirectoryPreset", func(s *domain.LDAPSettings) { _ = s.ApplyPreset(domain.PresetActiveDirectory) }},
		{"OKNoPreset", func(s *domain.LDAPSettings) { s.Preset = "" }},
		{"OKNestedGroupFilter", func(s *domain.LDAPSettings) {
			s.ActiveFilter = "(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=cn=Staff,ou=Groups,dc=example,dc=com))"
		}},
		{"OKExtensibleWithoutType", func(s *domain.LDAPSettings) { s.ActiveFilter = "(:dn:2.5.13.5:=Sales)" }},
		{"OKEscapedParenthesis", func(s *domain.LDAPSettings) { s.ActiveFilter = `(cn=Doe \28Jr\29)` }},
		{"OKAbsoluteTrue", func(s *domain.LDAPSettings) { s.InactiveFilter = "(&)" }},
		{"OKUnicodeValue", func(s *domain.LDAPSettings) { s.ActiveFilter = "(sn=Åström)" }},
		{"OKAttributeWithOption", func(s *domain.LDAPSettings) { s.DisplayName = "displayName;lang-sv" }},
		{"OKNumericOIDAttribute", func(s *domain.LDAPSettings) { s.Title = "2.5.4.12" }},
		{"OKEmptyOptionalAttribute", func(s *domain.LDAPSettings) { s.Phone = "" }},
		{"OKAnonymousBind", func(s *domain.LDAPSettings) { s.BindDN = "" }},
		{"OKUPNBindDN", func(s *domain.LDAPSettings) { s.BindDN = "svc-idm@example.com" }},
		{"OKLongestDN", func(s *domain.LDAPSettings) { s.BaseDN = "dc=" + strings.Repeat("é", 1021) }},
		{"OKZeroLimits", func(s *domain.LDAPSettings) {
			s.DeactivateMaxUsers, s.DeactivateMaxPercent, s.ShrinkMaxPercent = 0, 0, 0
		}},
		{"OKLargestLimits", func(s *domain.LDAPSettings) {
			s.PageSize, s.ConnectTimeoutSeconds, s.SearchTimeoutSeconds, s.DeactivateMaxUsers = 5000, 300, 3600, 1_000_000_000
		}},
		{"OKCACertificate", func(s *domain.LDAPSettings) { s.CACert = testCAPEM(t, 1) }},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSettings()
			tc.edit(&s)
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}

}

// refusedSettings are edits of goodSettings that Validate refuses, each
// with one message at one field; want is part of that message.
var refusedSettings = []struct {
	name, field, want string
	edit              func(*domain.LDAPSettings)
}{
	{"ErrNoURL", "url", "URL is required", func(s *domain.LDAPSettings) { s.URL = "" }},
	{"ErrURLScheme", "url", "URL must look like ldap://host:389 or ldaps://host:636", func(s *domain.LDAPSettings) { s.URL = "http://dc1.example.com" }},
	{"ErrURLNoHost", "url", "URL must look like", func(s *domain.LDAPSettings) { s.URL = "ldap://:389" }},
	{"ErrURLNotAURL", "url", "URL must look like", func(s *domain.LDAPSettings) { s.URL = "dc1.example.com" }},
	{"ErrPortBeyond65535", "url", "Port 70000 is out of range: use 1 to 65535", func(s *domain.LDAPSettings) { s.URL = "ldap://dc1.example.com:70000" }},
	{"ErrPortZero", "url", "Port 0 is out of range", func(s *domain.LDAPSettings) { s.URL = "ldap://dc1.example.com:0" }},
	{"ErrPortHuge", "url", "Port 99999999999999999999 is out of range", func(s *domain.LDAPSettings) { s.URL = "ldap://dc1.example.com:99999999999999999999" }},
	{"ErrPortNotANumber", "url", "URL must look like", func(s *domain.LDAPSettings) { s.URL = "ldap://dc1.example.com:ldap" }},
	{"ErrURLWithPath", "url", "without a path or query", func(s *domain.LDAPSettings) { s.URL = "ldap://dc1.example.com/dc=example,dc=com" }},
	{"ErrURLWithQuery", "url", "without a path or query", func(s *domain.LDAPSettings) { s.URL = "ldap://dc1.example.com/??sub" }},
	{"ErrURLWithPassword", "url", "must not hold a user name or password", func(s *domain.LDAPSettings) { s.URL = "ldap://admin:secret@dc1.example.com" }},
	{"ErrURLOverlong", "url", "characters long; at most 512 fit", func(s *domain.LDAPSettings) { s.URL = "ldap://" + strings.Repeat("a", 510) + ".com" }},
	{"ErrURLNUL", "url", "contains a NUL byte", func(s *domain.LDAPSettings) { s.URL = "ldap://dc1\x00.example.com" }},
	{"ErrURLInvalidUTF8", "url", "is not valid UTF-8 text", func(s *domain.LDAPSettings) { s.URL = "ldap://dc1\xff.example.com" }},
	{"ErrStartTLSOnLDAPS", "start_tls", "StartTLS applies to ldap:// URLs", func(s *domain.LDAPSettings) { s.StartTLS = true }},
	{"ErrBindDNOverlong", "bind_dn", "is 1025 characters long; at most 1024 fit", func(s *domain.LDAPSettings) { s.BindDN = "cn=" + strings.Repeat("x", 1022) }},
	{"ErrBindDNNUL", "bind_dn", "contains a NUL byte", func(s *domain.LDAPSettings) { s.BindDN = "cn=a\x00" }},
	{"ErrBindDNLineBreak", "bind_dn", "line break", func(s *domain.LDAPSettings) { s.BindDN = "cn=a\ncn=b" }},
	{"ErrNoBaseDN", "base_dn", "Base DN is required", func(s *domain.LDAPSettings) { s.BaseDN = "" }},
	{"ErrBaseDNOverlong", "base_dn", "at most 1024 fit", func(s *domain.LDAPSettings) { s.BaseDN = "dc=" + strings.Repeat("é", 1022) }},
	{"ErrBaseDNInvalidUTF8", "base_dn", "not valid UTF-8", func(s *domain.LDAPSettings) { s.BaseDN = "dc=\xc3" }},
	{"ErrBaseDNNotADN", "base_dn", "Base DN must be a distinguished name such as dc=example,dc=com", func(s *domain.LDAPSettings) { s.BaseDN = "example.com" }},
	{"ErrBaseDNWildcard", "base_dn", "Base DN must be a distinguished name", func(s *domain.LDAPSettings) { s.BaseDN = "*" }},
	{"ErrBaseDNMarkup", "base_dn", "unescaped character: '<'", func(s *domain.LDAPSettings) { s.BaseDN = "dc=<b>,dc=com" }},
	{"ErrBaseDNEmptyRDN", "base_dn", "Base DN must be a distinguished name", func(s *domain.LDAPSettings) { s.BaseDN = "dc=example,,dc=com" }},
	{"ErrBaseDNFilterInjection", "base_dn", `Base DN names "*)(|(objectClass", which is not an attribute name`,
		func(s *domain.LDAPSettings) { s.BaseDN = `*)(|(objectClass=*))\00` }},
	{"ErrScope", "scope", "Scope must be sub, one or base", func(s *domain.LDAPSettings) { s.Scope = "all" }},
	{"ErrNoFilter", "active_filter", "Filter is required", func(s *domain.LDAPSettings) { s.ActiveFilter = "" }},
	{"ErrFilterUnclosed", "active_filter", "The filter does not parse: unexpected end of filter (a closing parenthesis is missing)",
		func(s *domain.LDAPSettings) { s.ActiveFilter = "(|(uid=*)" }},
	{"ErrFilterTrailingCondition", "active_filter", "The filter does not parse: finished compiling filter with extra at end: (objectClass=*)",
		func(s *domain.LDAPSettings) { s.ActiveFilter = "(uid=*)(objectClass=*)" }},
	{"ErrFilterEmpty", "inactive_filter", "The filter does not parse: error parsing filter (a condition is empty or incomplete",
		func(s *domain.LDAPSettings) { s.InactiveFilter = "()" }},
	{"ErrFilterNoParentheses", "active_filter", "enclose it in parentheses", func(s *domain.LDAPSettings) { s.ActiveFilter = "objectClass=person" }},
	{"ErrFilterTrailingSpace", "active_filter", "extra at end", func(s *domain.LDAPSettings) { s.ActiveFilter = "(uid=*) " }},
	{"ErrFilterTrailingText", "active_filter", "extra at end: garbage", func(s *domain.LDAPSettings) { s.ActiveFilter = "(uid=*)garbage" }},
	{"ErrFilterNotTwoChildren", "active_filter", "expected ')'", func(s *domain.LDAPSettings) { s.ActiveFilter = "(!(uid=*)(cn=*))" }},
	{"ErrFilterBadEscape", "active_filter", "invalid characters for escape", func(s *domain.LDAPSettings) { s.ActiveFilter = `(uid=\zz)` }},
	{"ErrFilterParenthesisInValue", "active_filter", `a "(" inside a value must be written \28`, func(s *domain.LDAPSettings) { s.ActiveFilter = "(uid=(x)" }},
	{"ErrFilterNoAttribute", "active_filter", `The filter names "", which is not an attribute name`, func(s *domain.LDAPSettings) { s.ActiveFilter = "(=x)" }},
	{"ErrFilterSpaceInAttribute", "active_filter", `names "u id"`, func(s *domain.LDAPSettings) { s.ActiveFilter = "(u id=a)" }},
	{"ErrFilterBadMatchingRule", "active_filter", `names "1.2.x"`, func(s *domain.LDAPSettings) { s.ActiveFilter = "(uid:1.2.x:=a)" }},
	{"ErrFilterNUL", "active_filter", "contains a NUL byte", func(s *domain.LDAPSettings) { s.ActiveFilter = "(uid=a\x00)" }},
	{"ErrFilterInvalidUTF8", "active_filter", "not valid UTF-8", func(s *domain.LDAPSettings) { s.ActiveFilter = "(uid=\xff)" }},
	{"ErrFilterOverlong", "active_filter", "at most 4096 fit", func(s *domain.LDAPSettings) { s.ActiveFilter = "(cn=" + strings.Repeat("x", 4096) + ")" }},
	{"ErrNoUsernameAttribute", "attr_username", "The username attribute is required", func(s *domain.LDAPSettings) { s.Username = "" }},
	{"ErrAttributeFilterInjection", "attr_username", `"uid)(objectClass=*" is not an attribute name`, func(s *domain.LDAPSettings) { s.Username = "uid)(objectClass=*" }},
	{"ErrAttributeList", "attr_email", `"mail,cn" is not an attribute name`, func(s *domain.LDAPSettings) { s.Email = "mail,cn" }},
	{"ErrAttributeLeadingDigit", "attr_title", "is not an attribute name", func(s *domain.LDAPSettings) { s.Title = "1title" }},
	{"ErrAttributeOIDLeadingZero", "attr_title", "is not an attribute name", func(s *domain.LDAPSettings) { s.Title = "2.05.4" }},
	{"ErrAttributeEmptyOption", "attr_title", "is not an attribute name", func(s *domain.LDAPSettings) { s.Title = "title;" }},
	{"ErrAttributeOverlong", "attr_surname", "is 129 characters long; at most 128 fit", func(s *domain.LDAPSettings) { s.Surname = strings.Repeat("s", 129) }},
	{"ErrAttributeNUL", "attr_stable_id", "contains a NUL byte", func(s *domain.LDAPSettings) { s.StableID = "entryUUID\x00" }},
	{"ErrPageSizeZero", "page_size", "Page size must be between 1 and 5000", func(s *domain.LDAPSettings) { s.PageSize = 0 }},
	{"ErrPageSizeTooBig", "page_size", "between 1 and 5000", func(s *domain.LDAPSettings) { s.PageSize = 5001 }},
	{"ErrConnectTimeout", "connect_timeout_seconds", "between 1 and 300 seconds", func(s *domain.LDAPSettings) { s.ConnectTimeoutSeconds = 301 }},
	{"ErrSearchTimeout", "search_timeout_seconds", "between 1 and 3600 seconds", func(s *domain.LDAPSettings) { s.SearchTimeoutSeconds = 0 }},
	{"ErrMaxUsersBeyondInt32", "deactivate_max_users", "Must be between 0 and 1000000000", func(s *domain.LDAPSettings) { s.DeactivateMaxUsers = 3_000_000_000 }},
	{"ErrMaxUsersNegative", "deactivate_max_users", "Must be between 0 and", func(s *domain.LDAPSettings) { s.DeactivateMaxUsers = -1 }},
	{"ErrPercentOver100", "deactivate_max_percent", "Must be between 0 and 100", func(s *domain.LDAPSettings) { s.DeactivateMaxPercent = 150 }},
	{"ErrShrinkNegative", "shrink_max_percent", "Must be between 0 and 100", func(s *domain.LDAPSettings) { s.ShrinkMaxPercent = -5 }},
	{"ErrUnknownPreset", "preset", `unknown preset "novell": use active_directory or openldap`, func(s *domain.LDAPSettings) { s.Preset = "novell" }},
	{"ErrCACertNotPEM", "ca_cert", "This is not a PEM certificate", func(s *domain.LDAPSettings) { s.CACert = "junk" }},
}

func TestLDAPSettingsValidateRefuses(t *testing.T) {
	for _, tc := range refusedSettings {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSettings()
			tc.edit(&s)
			fe := fieldErrors(t, s.Validate())
			if len(fe) != 1 || fe[0].Field != tc.field || !strings.Contains(fe[0].Message, tc.want) {
				t.Fatalf("errors %+v, want one at %s containing %q", fe, tc.field, tc.want)
			}
			if domain.ErrorCode(s.Validate()) != domain.EINVALID {
				t.Errorf("code %s, want invalid", domain.ErrorCode(s.Validate()))
			}
		})
	}

}

func TestLDAPSettingsValidateEveryProblemAtItsField(t *testing.T) {
	s := goodSettings()
	s.URL, s.ActiveFilter, s.Email, s.PageSize = "ldap://x:70000", "(|(uid=*)", "mail,cn", 0
	got := fieldErrors(t, s.Validate()).Map()
	for _, f := range []string{"url", "active_filter", "attr_email", "page_size"} {
		if got[f] == "" {
			t.Errorf("no message at %s: %v", f, got)
		}
	}
}

func TestApplyPreset(t *testing.T) {
	t.Run("ErrUnknownPreset", func(t *testing.T) {
		s := goodSettings()
		fe := fieldErrors(t, s.ApplyPreset("novell"))
		want := goodSettings()
		want.Preset = "novell"
		if fe[0].Field != "preset" || fe[0].Message != fieldErrors(t, want.Validate())[0].Message {
			t.Errorf("ApplyPreset says %+v; Validate says %+v: the two must agree", fe, want.Validate())
		}
	})
	t.Run("ErrUnknownMappedField", func(t *testing.T) {
		var m domain.AttributeMap
		if fe := fieldErrors(t, m.Set("nickname", "cn")); !strings.Contains(fe[0].Message, "username, stable_id") {
			t.Errorf("message %q does not list the fields", fe[0].Message)
		}
	})
}

func TestValidAttributeName(t *testing.T) {
	for name, want := range map[string]bool{
		"uid": true, "sAMAccountName": true, "x-custom-attr": true, "2.5.4.3": true, "0.9.2342.19200300.100.1.1": true,
		"displayName;lang-sv": true, "userCertificate;binary": true, "cn;x;y": true,
		"": false, "1uid": false, "-uid": false, "uid_x": false, "mail,cn": false, "uid)(objectClass=*": false,
		"u id": false, "uid*": false, "2": false, "2.": false, "2..5": false, "2.05": false, "cn;": false, "cn;;x": false,
		"cn;la_ng": false, "é": false, "uid\x00": false,
	} {
		if got := domain.ValidAttributeName(name); got != want {
			t.Errorf("ValidAttributeName(%q) = %v, want %v", name, got, want)
		}
	}
}
