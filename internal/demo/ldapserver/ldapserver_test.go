package ldapserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

const (
	testBase     = "dc=example,dc=com"
	testPeople   = "ou=people,dc=example,dc=com"
	testBindDN   = "cn=reader,dc=example,dc=com"
	testPassword = "s3cret-reader"
)

func person(uid string, attrs map[string][]string) Entry {
	e := Entry{DN: "uid=" + uid + "," + testPeople, Attributes: map[string][]string{
		"objectClass": {"top", "person", "organizationalPerson", "inetOrgPerson"},
		"uid":         {uid},
		"entryUUID":   {"00000000-0000-4000-8000-" + fmt.Sprintf("%012x", len(uid)*7919+int(uid[0]))},
	}}
	for k, v := range attrs {
		e.Attributes[k] = v
	}
	return e
}

func adUser(cn string, uac int) Entry {
	return Entry{DN: "cn=" + cn + "," + testPeople, Attributes: map[string][]string{
		"objectClass":        {"top", "person", "organizationalPerson", "user"},
		"objectCategory":     {"CN=Person,CN=Schema,CN=Configuration,DC=example,DC=com"},
		"cn":                 {cn},
		"sAMAccountName":     {cn},
		"userAccountControl": {strconv.Itoa(uac)},
	}}
}

func baseEntries() []Entry {
	return []Entry{
		{DN: testBase, Attributes: map[string][]string{"objectClass": {"top", "dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}}},
		{DN: testPeople, Attributes: map[string][]string{"objectClass": {"top", "organizationalUnit"}, "ou": {"people"}}},
	}
}

// mixedDirectory holds OpenLDAP-style people and Active Directory-style users.
func mixedDirectory() []Entry {
	return append(baseEntries(),
		person("a", map[string][]string{"cn": {"Anna Berg"}, "sn": {"Berg"}, "mail": {"a@example.org"}, "employeeNumber": {"5"}}),
		person("b", map[string][]string{"cn": {"Bo Ek"}, "sn": {"Ek"}, "mail": {"b@example.com"}, "employeeNumber": {"40"}}),
		person("jdoe", map[string][]string{"cn": {"Jane Doe"}, "sn": {"Doe"}, "mail": {"jdoe@example.com"}, "employeeNumber": {"1000"}}),
		person("jsmith", map[string][]string{"cn": {"John Smith"}, "sn": {"Smith"}, "mail": {"jsmith@example.org"}, "employeeNumber": {"20000"}}),
		person("kim", map[string][]string{"cn": {"Kim Lind"}, "sn": {"Lind"}, "pwdAccountLockedTime": {"000001010000Z"}}),
		adUser("enabled", 512),
		adUser("disabled", 514),
	)
}

func mustStart(t testing.TB, entries []Entry) *Server {
	t.Helper()
	s, err := Start(t.Context(), Config{BaseDN: testBase, BindDN: testBindDN, BindPassword: testPassword, Entries: entries})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func mustDial(t testing.TB, s *Server) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		t.Fatalf("dial %s: %v", s.URL(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustBind(t testing.TB, s *Server) *ldap.Conn {
	t.Helper()
	c := mustDial(t, s)
	if err := c.Bind(testBindDN, testPassword); err != nil {
		t.Fatalf("bind: %v", err)
	}
	return c
}

func resultCode(err error) uint16 {
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode
	}
	return 0
}

func values(res *ldap.SearchResult, attr string) []string {
	var out []string
	for _, e := range res.Entries {
		out = append(out, e.GetAttributeValue(attr))
	}
	sort.Strings(out)
	return out
}

func TestBind(t *testing.T) {
	s := mustStart(t, mixedDirectory())
	tests := []struct {
		name     string
		dn, pass string
		wantCode uint16
	}{
		{"OK", testBindDN, testPassword, 0},
		{"OKDifferentCaseAndSpacing", "CN=Reader, DC=Example, DC=com", testPassword, 0},
		{"ErrWrongPassword", testBindDN, "wrong", ldap.LDAPResultInvalidCredentials},
		{"ErrUnknownDN", "cn=admin,dc=example,dc=com", testPassword, ldap.LDAPResultInvalidCredentials},
		{"ErrPersonDN", "uid=a," + testPeople, testPassword, ldap.LDAPResultInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustDial(t, s)
			err := c.Bind(tt.dn, tt.pass)
			if got := resultCode(err); got != tt.wantCode || (tt.wantCode == 0 && err != nil) {
				t.Fatalf("bind: err %v (code %d), want code %d", err, got, tt.wantCode)
			}
		})
	}
}

func TestSearchRequiresBind(t *testing.T) {
	s := mustStart(t, mixedDirectory())
	req := ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil)

	t.Run("ErrAnonymous", func(t *testing.T) {
		c := mustDial(t, s)
		_, err := c.Search(req)
		if got := resultCode(err); got != ldap.LDAPResultInsufficientAccessRights {
			t.Fatalf("anonymous search: err %v, want insufficientAccessRights", err)
		}
	})
	t.Run("ErrAfterFailedBind", func(t *testing.T) {
		c := mustBind(t, s)
		if err := c.Bind(testBindDN, "wrong"); err == nil {
			t.Fatal("bind with wrong password succeeded")
		}
		_, err := c.Search(req)
		if got := resultCode(err); got != ldap.LDAPResultInsufficientAccessRights {
			t.Fatalf("search after failed bind: err %v, want insufficientAccessRights", err)
		}
	})
	t.Run("OKAfterBind", func(t *testing.T) {
		c := mustBind(t, s)
		res, err := c.Search(req)
		if err != nil || len(res.Entries) != len(mixedDirectory()) {
			t.Fatalf("search: %v, %d entries", err, len(res.Entries))
		}
	})
}

func TestSearchFilters(t *testing.T) {
	s := mustStart(t, mixedDirectory())
	c := mustBind(t, s)
	tests := []struct {
		name   string
		filter string
		want   []string // sorted RDN values (uid or cn)
	}{
		{"OpenLDAPActive", "(&(objectClass=inetOrgPerson)(!(pwdAccountLockedTime=*)))", []string{"a", "b", "jdoe", "jsmith"}},
		{"OpenLDAPInactive", "(&(objectClass=inetOrgPerson)(pwdAccountLockedTime=*))", []string{"kim"}},
		{"SubstringInitial", "(uid=j*)", []string{"jdoe", "jsmith"}},
		{"SubstringAny", "(cn=*smi*)", []string{"jsmith"}},
		{"SubstringFinal", "(mail=*@EXAMPLE.org)", []string{"a", "jsmith"}},
		{"SubstringInitialAnyFinal", "(cn=J*n*h)", []string{"jsmith"}},
		{"Or", "(|(uid=a)(uid=b))", []string{"a", "b"}},
		{"EqualityIgnoresCase", "(UID=JDOE)", []string{"jdoe"}},
		{"Approx", "(sn~=doe)", []string{"jdoe"}},
		{"GreaterOrEqualNumeric", "(employeeNumber>=1000)", []string{"jdoe", "jsmith"}},
		{"LessOrEqualNumeric", "(employeeNumber<=40)", []string{"a", "b"}},
		{"PresenceNone", "(telexNumber=*)", nil},
		{"ADBitAndDisabled", "(userAccountControl:1.2.840.113556.1.4.803:=2)", []string{"disabled"}},
		{"ADPresetActive", "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))", []string{"enabled"}},
		{"ADPresetInactive", "(&(objectCategory=person)(objectClass=user)(userAccountControl:1.2.840.113556.1.4.803:=2))", []string{"disabled"}},
		{"ADBitOr", "(userAccountControl:1.2.840.113556.1.4.804:=514)", []string{"disabled", "enabled"}},
		{"ADBitAndAllBits", "(userAccountControl:1.2.840.113556.1.4.803:=514)", []string{"disabled"}},
		{"ExtensibleNoRule", "(cn:=john smith)", []string{"jsmith"}},
		{"ExtensibleCaseExactMisses", "(cn:2.5.13.5:=john smith)", nil},
		{"UnsupportedRuleNeverMatches", "(uid:1.2.840.113556.1.4.1941:=a)", nil},
		{"NotOfUnsupportedRuleStaysUndefined", "(!(uid:1.2.840.113556.1.4.1941:=a))", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Search(ldap.NewSearchRequest(testPeople, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, tt.filter, []string{"uid", "cn"}, nil))
			if err != nil {
				t.Fatalf("search %s: %v", tt.filter, err)
			}
			var got []string
			for _, e := range res.Entries {
				rdn := e.GetAttributeValue("uid")
				if rdn == "" {
					rdn = e.GetAttributeValue("cn")
				}
				got = append(got, rdn)
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("%s: got %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestSearchInvalidFilter(t *testing.T) {
	s := mustStart(t, mixedDirectory())
	c := mustBind(t, s)
	if _, err := c.Search(ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(uid=a", nil, nil)); err == nil {
		t.Fatal("search with an unbalanced filter succeeded")
	}
	// The connection and the server still work.
	res, err := c.Search(ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(uid=a)", nil, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("search after invalid filter: %v, %d entries", err, len(res.Entries))
	}
}

func TestSearchScope(t *testing.T) {
	s := mustStart(t, mixedDirectory())
	c := mustBind(t, s)
	all := len(mixedDirectory())
	tests := []struct {
		name     string
		base     string
		scope    int
		want     int
		wantCode uint16
	}{
		{"BaseOnly", testBase, ldap.ScopeBaseObject, 1, 0},
		{"OneBelowBase", testBase, ldap.ScopeSingleLevel, 1, 0},
		{"SubFromBase", testBase, ldap.ScopeWholeSubtree, all, 0},
		{"OneBelowPeople", testPeople, ldap.ScopeSingleLevel, all - 2, 0},
		{"SubFromPeople", testPeople, ldap.ScopeWholeSubtree, all - 1, 0},
		{"BaseDNIgnoresCaseAndSpacing", "OU=People, DC=Example,DC=COM", ldap.ScopeSingleLevel, all - 2, 0},
		{"ErrUnknownBase", "ou=nowhere,dc=example,dc=com", ldap.ScopeWholeSubtree, 0, ldap.LDAPResultNoSuchObject},
		{"ErrInvalidBase", "not a dn", ldap.ScopeWholeSubtree, 0, ldap.LDAPResultInvalidDNSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Search(ldap.NewSearchRequest(tt.base, tt.scope, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
			if tt.wantCode != 0 {
				if got := resultCode(err); got != tt.wantCode {
					t.Fatalf("err %v (code %d), want code %d", err, got, tt.wantCode)
				}
				return
			}
			if err != nil || len(res.Entries) != tt.want {
				t.Fatalf("search: %v, %d entries, want %d", err, len(res.Entries), tt.want)
			}
		})
	}
}

func TestSearchAttributes(t *testing.T) {
	s := mustStart(t, mixedDirectory())
	c := mustBind(t, s)
	tests := []struct {
		name      string
		attrs     []string
		typesOnly bool
		want      []string
	}{
		{"AllUserAttributesWhenNone", nil, false, []string{"cn", "employeeNumber", "mail", "objectClass", "sn", "uid"}},
		{"AllUserAttributesForStar", []string{"*"}, false, []string{"cn", "employeeNumber", "mail", "objectClass", "sn", "uid"}},
		{"OperationalByName", []string{"entryUUID"}, false, []string{"entryUUID"}},
		{"OperationalByPlus", []string{"+", "uid"}, false, []string{"entryUUID", "uid"}},
		{"NamesIgnoreCase", []string{"MAIL", "Uid"}, false, []string{"mail", "uid"}},
		{"NoneForOneOne", []string{"1.1"}, false, nil},
		{"TypesOnly", []string{"uid"}, true, []string{"uid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Search(ldap.NewSearchRequest("uid=jsmith,"+testPeople, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, tt.typesOnly, "(objectClass=*)", tt.attrs, nil))
			if err != nil || len(res.Entries) != 1 {
				t.Fatalf("search: %v, %d entries", err, len(res.Entries))
			}
			var got []string
			for _, a := range res.Entries[0].Attributes {
				got = append(got, a.Name)
				if tt.typesOnly != (len(a.Values) == 0) {
					t.Errorf("attribute %s: %d values with typesOnly=%t", a.Name, len(a.Values), tt.typesOnly)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("attributes %v, want %v", got, tt.want)
			}
		})
	}
}

func manyPeople(n int) []Entry {
	entries := baseEntries()
	for i := range n {
		entries = append(entries, person(fmt.Sprintf("user%04d", i), map[string][]string{"cn": {fmt.Sprintf("User %d", i)}}))
	}
	return entries
}

// pagedSearch pages the way the product's directory client does: Search
// with a paging control, copying each response's cookie into the next request.
func pagedSearch(c *ldap.Conn, filter string, size uint32) (uids []string, pages int, err error) {
	paging := ldap.NewControlPaging(size)
	req := ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"uid"}, []ldap.Control{paging})
	for {
		res, err := c.Search(req)
		if err != nil {
			return nil, pages, err
		}
		pages++
		if len(res.Entries) > int(size) {
			return nil, pages, fmt.Errorf("page %d has %d entries, more than %d", pages, len(res.Entries), size)
		}
		for _, e := range res.Entries {
			uids = append(uids, e.GetAttributeValue("uid"))
		}
		ctrl, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok {
			return nil, pages, fmt.Errorf("page %d: no paging control in the response", pages)
		}
		if len(ctrl.Cookie) == 0 {
			return uids, pages, nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
}

func checkEveryUserOnce(t *testing.T, uids []string, n int) {
	t.Helper()
	if len(uids) != n {
		t.Fatalf("got %d entries, want %d", len(uids), n)
	}
	seen := map[string]bool{}
	for _, u := range uids {
		if seen[u] {
			t.Fatalf("entry %s returned twice", u)
		}
		seen[u] = true
	}
}

// pagingPeople is how many people TestPaging's directory holds.
const pagingPeople = 1050

func TestPaging(t *testing.T) {
	s := mustStart(t, manyPeople(pagingPeople))
	for _, sub := range []struct {
		name string
		run  func(*testing.T, *Server)
	}{
		{"OKSearchLoopWithCookie", testPagingSearchLoop},
		{"OKSearchWithPaging", testPagingSearchWithPaging},
		{"OKExactMultipleEndsWithEmptyCookie", testPagingExactMultiple},
		{"OKChangesWhilePagingDoNotDisturbThePagedSearch", testPagingWhileChanging},
		{"ErrCookieFromAnotherConnection", testPagingCookieFromAnotherConnection},
		{"ErrCookieForDifferentFilter", testPagingCookieForDifferentFilter},
	} {
		t.Run(sub.name, func(t *testing.T) { sub.run(t, s) })
	}
}

// peoplePages is a search for every person's uid, size entries a page.
func peoplePages(size uint32) (*ldap.SearchRequest, *ldap.ControlPaging) {
	paging := ldap.NewControlPaging(size)
	return ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"uid"}, []ldap.Control{paging}), paging
}

// nextPage copies res's cookie into paging, as a client asks for the page after res.
func nextPage(paging *ldap.ControlPaging, res *ldap.SearchResult) {
	paging.SetCookie(ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging).Cookie)
}

// afterFirstPage reads the first page of peoplePages(size) on c and returns
// the request set to ask for the second.
func afterFirstPage(t *testing.T, c *ldap.Conn, size uint32) *ldap.SearchRequest {
	t.Helper()
	req, paging := peoplePages(size)
	res, err := c.Search(req)
	if err != nil {
		t.Fatal(err)
	}
	nextPage(paging, res)
	return req
}

func testPagingSearchLoop(t *testing.T, s *Server) {
	c := mustBind(t, s)
	uids, pages, err := pagedSearch(c, "(objectClass=inetOrgPerson)", 100)
	if err != nil {
		t.Fatal(err)
	}
	checkEveryUserOnce(t, uids, pagingPeople)
	if pages != 11 {
		t.Fatalf("got %d pages, want 11", pages)
	}
}

func testPagingSearchWithPaging(t *testing.T, s *Server) {
	c := mustBind(t, s)
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"uid"}, nil), 100)
	if err != nil {
		t.Fatal(err)
	}
	checkEveryUserOnce(t, values(res, "uid"), pagingPeople)
}

func testPagingExactMultiple(t *testing.T, s *Server) {
	c := mustBind(t, s)
	uids, pages, err := pagedSearch(c, "(uid=user00*)", 50) // user0000..user0099: exactly two pages
	if err != nil {
		t.Fatal(err)
	}
	checkEveryUserOnce(t, uids, 100)
	if pages != 2 {
		t.Fatalf("got %d pages, want 2", pages)
	}
}

// testPagingWhileChanging replaces the directory after the first page: the
// paged search goes on reading the directory it began on.
func testPagingWhileChanging(t *testing.T, s *Server) {
	c := mustBind(t, s)
	req, paging := peoplePages(500)
	res, err := c.Search(req)
	if err != nil {
		t.Fatal(err)
	}
	uids := values(res, "uid")
	t.Cleanup(func() { _ = s.Replace(manyPeople(pagingPeople)) })
	if err := s.Replace(manyPeople(10)); err != nil {
		t.Fatal(err)
	}
	for {
		nextPage(paging, res)
		if len(paging.Cookie) == 0 {
			break
		}
		if res, err = c.Search(req); err != nil {
			t.Fatal(err)
		}
		uids = append(uids, values(res, "uid")...)
	}
	checkEveryUserOnce(t, uids, pagingPeople)
}

func testPagingCookieFromAnotherConnection(t *testing.T, s *Server) {
	c1, c2 := mustBind(t, s), mustBind(t, s)
	req := afterFirstPage(t, c1, 10)
	if _, err := c2.Search(req); resultCode(err) != ldap.LDAPResultUnwillingToPerform {
		t.Fatalf("search with another connection's cookie: %v, want unwillingToPerform", err)
	}
}

func testPagingCookieForDifferentFilter(t *testing.T, s *Server) {
	c := mustBind(t, s)
	req := afterFirstPage(t, c, 10)
	req.Filter = "(uid=*)"
	if _, err := c.Search(req); resultCode(err) != ldap.LDAPResultUnwillingToPerform {
		t.Fatalf("search with a cookie for another filter: %v, want unwillingToPerform", err)
	}
}

func TestSizeLimit(t *testing.T) {
	s := mustStart(t, manyPeople(30))
	c := mustBind(t, s)
	res, err := c.Search(ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 5, 0, false, "(objectClass=inetOrgPerson)", []string{"uid"}, nil))
	if resultCode(err) != ldap.LDAPResultSizeLimitExceeded {
		t.Fatalf("err %v, want sizeLimitExceeded", err)
	}
	if res == nil || len(res.Entries) != 5 {
		t.Fatalf("got %v, want 5 entries", res)
	}
	res, err = c.Search(ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 30, 0, false, "(objectClass=inetOrgPerson)", []string{"uid"}, nil))
	if err != nil || len(res.Entries) != 30 {
		t.Fatalf("search at the limit: %v, %d entries", err, len(res.Entries))
	}
}

func TestModifyAndReplace(t *testing.T) {
	s := mustStart(t, mixedDirectory())
	c := mustBind(t, s)
	inactive := func() []string {
		t.Helper()
		res, err := c.Search(ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(&(objectClass=inetOrgPerson)(pwdAccountLockedTime=*))", []string{"uid"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		return values(res, "uid")
	}

	t.Run("OKLockAPerson", func(t *testing.T) {
		if err := s.Modify("UID=A, ou=people,dc=example,dc=com", func(e *Entry) { e.Set("pwdAccountLockedTime", "000001010000Z") }); err != nil {
			t.Fatal(err)
		}
		if got := inactive(); !slices.Equal(got, []string{"a", "kim"}) {
			t.Fatalf("inactive %v, want [a kim]", got)
		}
	})
	t.Run("OKRename", func(t *testing.T) {
		if err := s.Modify("uid=b,"+testPeople, func(e *Entry) { e.DN = "uid=b2," + testPeople; e.Set("uid", "b2") }); err != nil {
			t.Fatal(err)
		}
		res, err := c.Search(ldap.NewSearchRequest("uid=b2,"+testPeople, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(uid=b2)", nil, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("renamed entry: %v", err)
		}
	})
	t.Run("ErrRenameOntoExisting", func(t *testing.T) {
		if err := s.Modify("uid=b2,"+testPeople, func(e *Entry) { e.DN = "uid=a," + testPeople }); err == nil {
			t.Fatal("rename onto an existing DN succeeded")
		}
	})
	t.Run("ErrUnknownDN", func(t *testing.T) {
		if err := s.Modify("uid=nobody,"+testPeople, func(*Entry) {}); err == nil {
			t.Fatal("modify of a missing entry succeeded")
		}
	})
	t.Run("ErrDuplicateOnReplace", func(t *testing.T) {
		if err := s.Replace(append(baseEntries(), baseEntries()[0])); err == nil {
			t.Fatal("replace with duplicate DNs succeeded")
		}
	})
	t.Run("OKReplace", func(t *testing.T) {
		if err := s.Replace(baseEntries()); err != nil {
			t.Fatal(err)
		}
		if got := inactive(); len(got) != 0 {
			t.Fatalf("inactive after replace: %v", got)
		}
		if got := len(s.Entries()); got != 2 {
			t.Fatalf("entries after replace: %d", got)
		}
	})
}

func TestStart(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"ErrNoBindDN", Config{BaseDN: testBase, BindPassword: "x"}},
		{"ErrNoPassword", Config{BaseDN: testBase, BindDN: testBindDN}},
		{"ErrInvalidBaseDN", Config{BaseDN: "nonsense", BindDN: testBindDN, BindPassword: "x"}},
		{"ErrDuplicateEntries", Config{BaseDN: testBase, BindDN: testBindDN, BindPassword: "x", Entries: append(baseEntries(), baseEntries()...)}},
		{"ErrAddressInUse", Config{BaseDN: testBase, BindDN: testBindDN, BindPassword: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "ErrAddressInUse" {
				tt.cfg.Addr = mustStart(t, nil).addr.String()
			}
			if s, err := Start(t.Context(), tt.cfg); err == nil {
				_ = s.Close()
				t.Fatal("start succeeded")
			}
		})
	}
}

func TestContextEndStopsServer(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Start(ctx, Config{BaseDN: testBase, BindDN: testBindDN, BindPassword: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-s.closed
	if err := s.Close(); err != nil {
		t.Fatalf("close after cancel: %v", err)
	}
	if c, err := ldap.DialURL(s.URL()); err == nil {
		_ = c.Close()
		t.Fatal("dial after the context ended succeeded")
	}
}

func TestConcurrentClients(t *testing.T) {
	const n = 600
	s := mustStart(t, manyPeople(n))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 6 {
		wg.Go(func() {
			c, err := ldap.DialURL(s.URL())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Bind(testBindDN, testPassword); err != nil {
				errs <- err
				return
			}
			uids, _, err := pagedSearch(c, "(objectClass=inetOrgPerson)", uint32(50+i*10))
			if err != nil {
				errs <- err
				return
			}
			if len(uids) != n {
				errs <- fmt.Errorf("client %d: %d entries, want %d", i, len(uids), n)
			}
		})
	}
	// Change the directory while the clients page through it.
	wg.Go(func() {
		for i := range 50 {
			dn := fmt.Sprintf("uid=user%04d,%s", i, testPeople)
			if err := s.Modify(dn, func(e *Entry) { e.Set("title", "Changed") }); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The server receives filters as gldap re-encodes them; escaped values must
// survive that round trip.
func TestSearchEscapedFilterValue(t *testing.T) {
	s := mustStart(t, append(baseEntries(), person("pat", map[string][]string{"cn": {`Pat (IT) *star* \ back`}})))
	c := mustBind(t, s)
	for _, f := range []string{`(cn=Pat \28IT\29 \2astar\2a \5c back)`, `(cn=*\2astar\2a*)`, "(cn=" + ldap.EscapeFilter(`Pat (IT) *star* \ back`) + ")"} {
		res, err := c.Search(ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, f, []string{"uid"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("search %s: %v, %v", f, err, res)
		}
	}
}

// TestPageDelay: each page of a paged search for attributes waits
// PageDelay, as the demo's stand-in for a directory across a network.
func TestPageDelay(t *testing.T) {
	const delay = 100 * time.Millisecond
	s, err := Start(t.Context(), Config{BaseDN: testBase, BindDN: testBindDN, BindPassword: testPassword,
		Entries: manyPeople(30), PageDelay: delay})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	c := mustBind(t, s)
	began := time.Now()
	uids, pages, err := pagedSearch(c, "(objectClass=inetOrgPerson)", 10)
	if err != nil {
		t.Fatal(err)
	}
	checkEveryUserOnce(t, uids, 30)
	if took := time.Since(began); pages != 3 || took < 3*delay {
		t.Fatalf("%d pages in %s, want 3 taking at least %s", pages, took, 3*delay)
	}
}
