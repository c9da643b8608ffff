package directory

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/testenv"
)

func TestFilterAttributes(t *testing.T) {
	tests := []struct {
		filter string
		want   []string
	}{
		{"(uid=alice)", []string{"uid"}},
		{"(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
			[]string{"objectCategory", "objectClass", "userAccountControl"}},
		{"(|(cn;lang-de=A*)(mail=*)(sn>=b)(sn<=c)(givenName~=x)(CN=again))", []string{"cn", "mail", "sn", "givenName"}},
		{"(memberOf:1.2.840.113556.1.4.1941:=CN=g,DC=x)", []string{"memberOf"}},
		{"(2.5.4.3=by-oid)", nil},
		{"(:dn:2.5.13.5:=x)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			p, err := ldap.CompileFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := filterAttributes(p); !slices.Equal(got, tt.want) {
				t.Errorf("filterAttributes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAttributeTypeNames(t *testing.T) {
	tests := []struct {
		def  string
		want []string
	}{
		{"( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s)' SUP name )", []string{"cn", "commonName"}},
		{"( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )", []string{"sAMAccountName"}},
		{"( 1.3.6.1.4.1.4203.666.1.90 NAME 'x-only' )", []string{"x-only"}},
		{"( 1.2.3 DESC 'no name' )", nil},
	}
	for _, tt := range tests {
		if got := attributeTypeNames(tt.def); !slices.Equal(got, tt.want) {
			t.Errorf("attributeTypeNames(%q) = %v, want %v", tt.def, got, tt.want)
		}
	}
}

// TestSlapdFilterMatchingNothing: on OpenLDAP too, a filter that matches
// nothing warns, naming an attribute the schema lacks; the test still
// passes, and the counts are per filter.
func TestSlapdFilterMatchingNothing(t *testing.T) {
	srv := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"))
	tests := []struct {
		name, active, inactive string
		activeWarning          string
		inactiveWarning        string
	}{
		// NOT of an unknown attribute is Undefined too (RFC 4511 4.5.1.7):
		// the typo stops every active entry from matching.
		{"MisspeltAttributeUnderNot", "(&(objectClass=inetOrgPerson)(!(pwdAccountLockTime=*)))", "(&(objectClass=inetOrgPerson)(pwdAccountLockedTime=*))",
			"the directory's schema has no attribute pwdAccountLockTime", ""},
		{"UnknownAttribute", "(&(objectClass=inetOrgPerson)(uidd=*))", "(&(objectClass=inetOrgPerson)(pwdAccountLockedTime=*))",
			"the directory's schema has no attribute uidd", ""},
		{"TwoUnknown", "(&(objectClas=inetOrgPerson)(uidd=*))", "(&(objectClass=inetOrgPerson)(uid=nobody))",
			"the directory's schema has no attributes objectClas, uidd", "Check the filter's attribute names and values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := slapdSettings(srv, srv.URL)
			set.ActiveFilter, set.InactiveFilter = tt.active, tt.inactive
			r := Test(context.Background(), set, srv.AdminPassword)
			if !r.OK || len(r.Filters) != 2 {
				t.Fatalf("report OK=%v, filters %+v, steps %+v", r.OK, r.Filters, r.Steps)
			}
			for i, want := range []string{tt.activeWarning, tt.inactiveWarning} {
				f := r.Filters[i]
				if want == "" && f.Warning != "" {
					t.Errorf("%s (%d entries) warns %q", f.Filter, f.Count, f.Warning)
				}
				if want != "" && (f.Count != 0 || !strings.Contains(f.Warning, want)) {
					t.Errorf("%s (%d entries) warns %q, want %q", f.Filter, f.Count, f.Warning, want)
				}
			}
			if r.ActiveCount != r.Filters[0].Count || r.InactiveCount != r.Filters[1].Count {
				t.Errorf("counts %d, %d differ from the filters' %+v", r.ActiveCount, r.InactiveCount, r.Filters)
			}
		})
	}
}
