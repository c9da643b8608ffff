package demo

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/demo/ldapserver"
	"idm/internal/domain"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSampleDirectory(t *testing.T) {
	entries := SampleDirectory(DemoBaseDN, 500, 42)
	if len(entries) != 502 {
		t.Fatalf("got %d entries, want 500 people plus base and ou", len(entries))
	}
	if entries[0].DN != DemoBaseDN || entries[1].DN != "ou=people,"+DemoBaseDN {
		t.Fatalf("first entries %q, %q; want the base and ou=people", entries[0].DN, entries[1].DN)
	}
	required := []string{"uid", "cn", "givenName", "sn", "displayName", "mail", "telephoneNumber",
		"title", "departmentNumber", "employeeNumber", "entryUUID"}
	uids, uuids, employees, departments := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	locked := 0
	for _, e := range entries[2:] {
		for _, a := range required {
			if len(e.Get(a)) != 1 || e.Get(a)[0] == "" {
				t.Fatalf("%s: attribute %s is %v, want one value", e.DN, a, e.Get(a))
			}
		}
		uid, id := e.Get("uid")[0], e.Get("entryUUID")[0]
		if e.DN != "uid="+uid+",ou=people,"+DemoBaseDN {
			t.Errorf("DN %q does not match uid %q", e.DN, uid)
		}
		if !strings.HasSuffix(e.Get("mail")[0], "@example.com") {
			t.Errorf("%s: mail %q not in the base DN's domain", uid, e.Get("mail")[0])
		}
		if !reflect.DeepEqual(e.Get("objectClass"), []string{"top", "person", "organizationalPerson", "inetOrgPerson"}) {
			t.Errorf("%s: objectClass %v", uid, e.Get("objectClass"))
		}
		if !uuidPattern.MatchString(id) {
			t.Errorf("%s: entryUUID %q is not a version 4 UUID", uid, id)
		}
		if uids[uid] || uuids[id] || employees[e.Get("employeeNumber")[0]] {
			t.Fatalf("%s: uid, entryUUID or employeeNumber repeats", uid)
		}
		uids[uid], uuids[id], employees[e.Get("employeeNumber")[0]] = true, true, true
		departments[e.Get("departmentNumber")[0]] = true
		if v := e.Get("pwdAccountLockedTime"); len(v) > 0 {
			if v[0] != LockedTime {
				t.Errorf("%s: pwdAccountLockedTime %q", uid, v[0])
			}
			locked++
		}
	}
	if locked != 50 {
		t.Errorf("got %d locked people, want 50", locked)
	}
	if len(departments) < 6 {
		t.Errorf("only %d departments", len(departments))
	}

	t.Run("SameForSameSeed", func(t *testing.T) {
		if !reflect.DeepEqual(entries, SampleDirectory(DemoBaseDN, 500, 42)) {
			t.Fatal("two calls with the same seed differ")
		}
	})
	t.Run("DifferentForOtherSeed", func(t *testing.T) {
		other := SampleDirectory(DemoBaseDN, 500, 43)
		if reflect.DeepEqual(entries[2].Get("entryUUID"), other[2].Get("entryUUID")) {
			t.Fatal("another seed gives the same entryUUID")
		}
	})
	t.Run("UniqueUIDsBeyondNameCombinations", func(t *testing.T) {
		seen := map[string]bool{}
		for _, e := range SampleDirectory("o=Corp", 4000, 7)[2:] {
			if uid := e.Get("uid")[0]; seen[uid] {
				t.Fatalf("uid %s repeats", uid)
			} else {
				seen[uid] = true
			}
		}
	})
}

// The demo works end to end: the demo settings' filters, read by go-ldap with
// paging from the demo server, split the sample people 450 active, 50 inactive.
func TestDemoDirectoryServesPresetFilters(t *testing.T) {
	const password = "demo-test-password"
	srv, err := ldapserver.Start(t.Context(), DemoServerConfig(password, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	settings := DemoLDAPSettings(srv.URL())
	if err := settings.Validate(); err != nil {
		t.Fatalf("demo settings invalid: %v", err)
	}
	if settings.Preset != domain.PresetOpenLDAP || settings.BindDN != DemoBindDN || settings.BaseDN != DemoBaseDN {
		t.Fatalf("settings %s preset %q", settings.String(), settings.Preset)
	}

	c, err := ldap.DialURL(settings.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(settings.BindDN, password); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, filter string
		want         int
	}{
		{"Active", settings.ActiveFilter, 450},
		{"Inactive", settings.InactiveFilter, 50},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := ldap.NewSearchRequest(settings.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				tt.filter, settings.AttributeMap.Attributes(), nil)
			res, err := c.SearchWithPaging(req, uint32(settings.PageSize))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Entries) != tt.want {
				t.Fatalf("got %d people, want %d", len(res.Entries), tt.want)
			}
			if res.Entries[0].GetAttributeValue("entryUUID") == "" || res.Entries[0].GetAttributeValue("departmentNumber") == "" {
				t.Fatalf("mapped attributes missing: %v", res.Entries[0].Attributes)
			}
		})
	}
}
