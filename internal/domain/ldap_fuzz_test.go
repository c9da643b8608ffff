package domain_test

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
)

// knownFields are the fields a settings message may name: each has its
// place in the Admin form and its flag in idm ldap configure.
var knownFields = func() map[string]bool {
	m := map[string]bool{"url": true, "start_tls": true, "ca_cert": true, "bind_dn": true, "base_dn": true, "scope": true,
		"active_filter": true, "inactive_filter": true, "preset": true, "page_size": true, "connect_timeout_seconds": true,
		"search_timeout_seconds": true, "deactivate_max_users": true, "deactivate_max_percent": true, "shrink_max_percent": true}
	for _, f := range (domain.AttributeMap{}).Fields() {
		m["attr_"+f[0]] = true
	}
	return m
}()

// FuzzValidateLDAPSettings: Validate never panics, names only known fields
// with a message, and whatever it accepts the directory client can use: a
// URL with a host and a port in range, a base DN and filters go-ldap
// reads, attribute names, text that fits its column, numbers within bounds,
// a CA x509 reads.
func FuzzValidateLDAPSettings(f *testing.F) {
	good := goodSettings()
	f.Add(good.URL, good.BindDN, good.BaseDN, good.ActiveFilter, good.InactiveFilter, good.Username, "", good.Preset, 500, 500)
	f.Add("ldap://x:70000", "cn=a\x00", "dc=\xff", "(|(uid=*)", "(uid=*)(objectClass=*)", "uid)(objectClass=*", "junk", "novell", 0, 3_000_000_000)
	f.Add("ldaps://[::1]:636/", "", "dc=x", "()", "(=x)", "mail,cn", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----", "", 5001, -1)
	f.Add("LDAP://h:0", "a@b", "o=x", "(uid=(x)", "(&)", "2.5.4.3;lang-sv", "", domain.PresetActiveDirectory, 1, 1_000_000_000)
	f.Fuzz(func(t *testing.T, rawURL, bindDN, baseDN, active, inactive, attr, ca, preset string, pageSize, maxUsers int) {
		s := goodSettings()
		s.URL, s.BindDN, s.BaseDN, s.ActiveFilter, s.InactiveFilter = rawURL, bindDN, baseDN, active, inactive
		s.Username, s.Email, s.CACert, s.Preset, s.PageSize, s.DeactivateMaxUsers = attr, attr, ca, preset, pageSize, maxUsers
		err := s.Validate()
		if err != nil {
			var fe domain.FieldErrors
			if !errors.As(err, &fe) || len(fe) == 0 {
				t.Fatalf("Validate returned %v, not field errors", err)
			}
			for _, e := range fe {
				if !knownFields[e.Field] || e.Message == "" || !utf8.ValidString(e.Message) {
					t.Fatalf("field error %+v names an unknown field or has no readable message", e)
				}
			}
			return
		}
		u, perr := url.Parse(s.URL)
		if perr != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Hostname() == "" || u.User != nil {
			t.Fatalf("accepted URL %q", s.URL)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				t.Fatalf("accepted port %q", p)
			}
		}
		if _, err := ldap.ParseDN(s.BaseDN); err != nil {
			t.Fatalf("accepted base DN %q that go-ldap refuses: %v", s.BaseDN, err)
		}
		for _, flt := range []string{s.ActiveFilter, s.InactiveFilter} {
			if _, err := ldap.CompileFilter(flt); err != nil {
				t.Fatalf("accepted filter %q that go-ldap refuses: %v", flt, err)
			}
		}
		if !domain.ValidAttributeName(attr) || strings.ContainsAny(attr, "(),=* ") {
			t.Fatalf("accepted attribute %q", attr)
		}
		for _, v := range []struct {
			s   string
			max int
		}{{s.URL, 512}, {s.BindDN, 1024}, {s.BaseDN, 1024}, {attr, 128}, {s.ActiveFilter, 4096}, {s.CACert, 65536}} {
			if !utf8.ValidString(v.s) || strings.ContainsRune(v.s, 0) || utf8.RuneCountInString(v.s) > v.max {
				t.Fatalf("accepted %q, which no column holds", v.s)
			}
		}
		if s.PageSize < 1 || s.PageSize > 5000 || s.DeactivateMaxUsers < 0 || s.DeactivateMaxUsers > 1<<31-1 {
			t.Fatalf("accepted page size %d, max users %d", s.PageSize, s.DeactivateMaxUsers)
		}
		if s.CACert != "" {
			if _, err := domain.ParseCACertificates(s.CACert); err != nil {
				t.Fatalf("accepted a CA that does not parse: %v", err)
			}
		}
		if s.Preset != "" && s.Preset != domain.PresetActiveDirectory && s.Preset != domain.PresetOpenLDAP {
			t.Fatalf("accepted preset %q", s.Preset)
		}
	})
}
