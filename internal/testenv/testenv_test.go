package testenv_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-ldap/ldap/v3"
	_ "github.com/jackc/pgx/v5/stdlib"

	"idm/internal/store"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fakeTB records what Require asks of a test instead of ending it.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.fatal = fmt.Sprintf(format, a...) }
func (f *fakeTB) Skipf(format string, a ...any)  { f.skip = fmt.Sprintf(format, a...) }

func TestRequire(t *testing.T) {
	missing := errors.New("not installed")
	tests := []struct {
		name      string
		ci        string
		err       error
		wantFatal bool
		wantSkip  bool
	}{
		{name: "FailsInCI", ci: "true", err: missing, wantFatal: true},
		{name: "SkipsOutsideCI", ci: "", err: missing, wantSkip: true},
		{name: "SkipsWhenCIFalse", ci: "false", err: missing, wantSkip: true},
		{name: "NothingWhenAvailable", ci: "true", err: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			f := &fakeTB{TB: t}
			testenv.Require(f, "widget", tt.err)
			if got := f.fatal != ""; got != tt.wantFatal {
				t.Errorf("fatal = %q, want fatal %v", f.fatal, tt.wantFatal)
			}
			if got := f.skip != ""; got != tt.wantSkip {
				t.Errorf("skip = %q, want skip %v", f.skip, tt.wantSkip)
			}
			if msg := f.fatal + f.skip; tt.err != nil && !strings.Contains(msg, "widget") {
				t.Errorf("message %q does not name the dependency", msg)
			}
		})
	}
}

func TestSQLiteURL(t *testing.T) {
	u1, u2 := testenv.SQLiteURL(t), testenv.SQLiteURL(t)
	if u1 == u2 || !strings.HasPrefix(u1, "sqlite:///") {
		t.Fatalf("SQLiteURL = %q, %q: want two distinct sqlite:///… URLs", u1, u2)
	}
	db, err := store.Open(t.Context(), u1)
	if err != nil {
		t.Fatalf("store.Open(%q): %v", u1, err)
	}
	defer db.Close()
	var one int
	pools := db.Pools() // the reader last
	if err := pools[len(pools)-1].Raw("SELECT 1").Scan(&one).Error; err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

func openPG(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPostgresURL(t *testing.T) {
	start := time.Now()
	url := testenv.PostgresURL(t)
	t.Logf("first PostgresURL (server start + database) took %v", time.Since(start))

	db := openPG(t, url)
	var one int
	if err := db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	var name string
	if err := db.QueryRowContext(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}

	// A second database is a different, empty one; it is gone after its
	// test ends, even with a connection left open.
	var other string
	t.Run("SecondIsFreshAndDropped", func(t *testing.T) {
		start := time.Now()
		url2 := testenv.PostgresURL(t)
		t.Logf("next PostgresURL (database only) took %v", time.Since(start))
		db2 := openPG(t, url2)
		if err := db2.QueryRowContext(t.Context(), "SELECT current_database()").Scan(&other); err != nil {
			t.Fatal(err)
		}
		if other == name {
			t.Fatalf("both calls returned database %s", name)
		}
		if _, err := db2.ExecContext(t.Context(), "CREATE TABLE kept_open (id int)"); err != nil {
			t.Fatal(err)
		}
	})
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", other).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test ended", other)
	}
}

func TestPostgresURLParallel(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			url := testenv.PostgresURL(t)
			mu.Lock()
			defer mu.Unlock()
			if seen[url] {
				t.Errorf("URL %s handed out twice", url)
			}
			seen[url] = true
		})
	}
}

func TestEachStore(t *testing.T) {
	var names []string
	testenv.EachStore(t, func(t *testing.T, url string) {
		names = append(names, t.Name())
		testenv.MustOpenDB(t, url) // opens and migrates, or fails the test
	})
	want := []string{"TestEachStore/sqlite", "TestEachStore/postgres"}
	if !slices.Equal(names, want) {
		t.Errorf("subtests = %v, want %v", names, want)
	}
}

func TestStartPostgresStopStart(t *testing.T) {
	start := time.Now()
	pg := testenv.StartPostgres(t)
	t.Logf("StartPostgres took %v", time.Since(start))
	db := openPG(t, pg.NewDatabase(t))
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}

	pg.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("ping succeeded with the server stopped")
	}

	pg.Start()
	var v string
	if err := db.QueryRowContext(t.Context(), "SELECT v FROM t").Scan(&v); err != nil || v != "kept" {
		t.Fatalf("after restart: v = %q, %v", v, err)
	}
}

// search runs a paged search the way the sync engine does: one page at a
// time, passing the cookie on. It returns the entries and the page count.
func search(t *testing.T, conn *ldap.Conn, base, filter string, pageSize uint32, attrs ...string) ([]*ldap.Entry, int) {
	t.Helper()
	paging := ldap.NewControlPaging(pageSize)
	var entries []*ldap.Entry
	pages := 0
	for {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, attrs, []ldap.Control{paging})
		res, err := conn.Search(req)
		if err != nil {
			t.Fatalf("search %s: %v", filter, err)
		}
		pages++
		entries = append(entries, res.Entries...)
		c, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(c.Cookie) == 0 {
			return entries, pages
		}
		paging.SetCookie(c.Cookie)
	}
}

func uids(entries []*ldap.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.GetAttributeValue("uid"))
	}
	slices.Sort(out)
	return out
}

const (
	activeFilter   = "(&(objectClass=inetOrgPerson)(!(pwdAccountLockedTime=*)))"
	inactiveFilter = "(&(objectClass=inetOrgPerson)(pwdAccountLockedTime=*))"
)

func TestSlapd(t *testing.T) {
	start := time.Now()
	s := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"))
	t.Logf("StartSlapd took %v", time.Since(start))
	conn := s.Conn(t)

	t.Run("PagedSearchWithEntryUUID", func(t *testing.T) {
		entries, pages := search(t, conn, s.BaseDN, "(objectClass=inetOrgPerson)", 3, "uid", "entryUUID")
		if len(entries) != 10 || pages != 4 {
			t.Fatalf("got %d entries in %d pages, want 10 in 4", len(entries), pages)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			id := e.GetAttributeValue("entryUUID")
			if len(id) != 36 || seen[id] {
				t.Errorf("%s: entryUUID %q missing or repeated", e.DN, id)
			}
			seen[id] = true
		}
	})

	t.Run("LockedFilterMatchesLockedFixtures", func(t *testing.T) {
		locked, _ := search(t, conn, s.BaseDN, inactiveFilter, 100, "uid")
		if got, want := uids(locked), []string{"dave", "frank", "ivan"}; !slices.Equal(got, want) {
			t.Errorf("inactive = %v, want %v", got, want)
		}
		active, _ := search(t, conn, s.BaseDN, activeFilter, 100, "uid")
		if len(active) != 7 {
			t.Errorf("active = %v, want 7 people", uids(active))
		}
	})

	t.Run("UserBindOK", func(t *testing.T) {
		c, err := ldap.DialURL(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Bind("uid=alice,"+s.PeopleDN, "password"); err != nil {
			t.Errorf("bind as alice: %v", err)
		}
		if err := c.Bind("uid=alice,"+s.PeopleDN, "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Errorf("bind with a wrong password: %v, want invalid credentials", err)
		}
	})

	t.Run("StartTLSWithCACert", func(t *testing.T) { slapdStartTLSWithCACert(t, s) })

	t.Run("LDAPSWithCACert", func(t *testing.T) { slapdLDAPSWithCACert(t, s) })

	t.Run("StartTLSUnknownCAFails", func(t *testing.T) { slapdStartTLSUnknownCAFails(t, s) })

	t.Run("ModifyLocksUnlocksAddsRenames", func(t *testing.T) { slapdModifyLocksUnlocksAddsRenames(t, s, conn) })

	t.Run("StopStartKeepsData", func(t *testing.T) {
		s.Stop()
		if c, err := ldap.DialURL(s.URL); err == nil {
			c.Close()
			t.Fatal("dial succeeded with slapd stopped")
		}
		start := time.Now()
		s.Start()
		t.Logf("restart took %v", time.Since(start))
		c := s.Conn(t)
		locked, _ := search(t, c, s.BaseDN, inactiveFilter, 100, "uid")
		if got, want := uids(locked), []string{"alice", "frank", "ivan"}; !slices.Equal(got, want) {
			t.Errorf("inactive after restart = %v, want %v", got, want)
		}
	})
}

func slapdStartTLSUnknownCAFails(t *testing.T, s *testenv.Slapd) {
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetTimeout(5 * time.Second)
	if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Fatal("StartTLS trusted a certificate from an unknown CA")
	}
}

func slapdStartTLSWithCACert(t *testing.T, s *testenv.Slapd) {
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetTimeout(5 * time.Second)
	if err := c.StartTLS(s.TLSConfig()); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := c.Bind(s.AdminDN, s.AdminPassword); err != nil {
		t.Fatalf("bind over StartTLS: %v", err)
	}
}

func slapdLDAPSWithCACert(t *testing.T, s *testenv.Slapd) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(s.CACertPEM)) {
		t.Fatal("CACertPEM holds no certificate")
	}
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatalf("dial %s: %v", s.LDAPSURL, err)
	}
	defer c.Close()
	if err := c.Bind(s.AdminDN, s.AdminPassword); err != nil {
		t.Fatalf("bind over ldaps: %v", err)
	}
}

func slapdModifyLocksUnlocksAddsRenames(t *testing.T, s *testenv.Slapd, conn *ldap.Conn) {
	before, _ := search(t, conn, s.PeopleDN, "(uid=erin)", 10, "entryUUID")
	s.Modify(t, `dn: uid=alice,ou=people,dc=example,dc=com
changetype: modify
add: pwdAccountLockedTime
pwdAccountLockedTime: 20260101000000Z

dn: uid=dave,ou=people,dc=example,dc=com
changetype: modify
delete: pwdAccountLockedTime

dn: uid=zoe,ou=people,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
uid: zoe
cn: Zoe Zetterberg
sn: Zetterberg

dn: uid=bob,ou=people,dc=example,dc=com
changetype: delete

dn: uid=erin,ou=people,dc=example,dc=com
changetype: modrdn
newrdn: uid=erin2
deleteoldrdn: 1
`)
	locked, _ := search(t, conn, s.BaseDN, inactiveFilter, 100, "uid")
	if got, want := uids(locked), []string{"alice", "frank", "ivan"}; !slices.Equal(got, want) {
		t.Errorf("inactive after modify = %v, want %v", got, want)
	}
	active, _ := search(t, conn, s.BaseDN, activeFilter, 100, "uid", "entryUUID")
	if got, want := uids(active), []string{"carol", "dave", "erin2", "grace", "heidi", "judy", "zoe"}; !slices.Equal(got, want) {
		t.Errorf("active after modify = %v, want %v", got, want)
	}
	for _, e := range active {
		if e.GetAttributeValue("uid") == "zoe" && e.GetAttributeValue("entryUUID") == "" {
			t.Error("added entry has no entryUUID")
		}
		if e.GetAttributeValue("uid") == "erin2" && e.GetAttributeValue("entryUUID") != before[0].GetAttributeValue("entryUUID") {
			t.Error("entryUUID changed on rename")
		}
	}
}

// TestSlapdManyEntries checks the limits: an anonymous search without paging
// stops at 500 entries, and with paging reads every one.
func TestSlapdManyEntries(t *testing.T) {
	start := time.Now()
	s := testenv.StartSlapd(t, testenv.PeopleLDIF(1200, 10))
	t.Logf("StartSlapd with 1200 entries took %v", time.Since(start))
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetTimeout(10 * time.Second)

	_, err = c.Search(ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"uid"}, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Errorf("unpaged anonymous search: %v, want size limit exceeded", err)
	}
	all, pages := search(t, c, s.BaseDN, "(objectClass=inetOrgPerson)", 250, "uid")
	locked, _ := search(t, c, s.BaseDN, inactiveFilter, 250, "uid")
	if len(all) != 1200 || pages != 5 || len(locked) != 120 {
		t.Errorf("paged: %d entries in %d pages, %d locked; want 1200 in 5, 120 locked", len(all), pages, len(locked))
	}
}

func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>testenv page</title><p id="msg">hello</p>`)
	}))
	defer srv.Close()

	start := time.Now()
	ctx := testenv.Browser(t)
	t.Logf("Browser took %v", time.Since(start))
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "testenv page" {
		t.Fatalf("title = %q, %v; want %q", title, err, "testenv page")
	}
	text, err := chromedp.Run(ctx, chromedp.Text("#msg"))
	if err != nil || text != "hello" {
		t.Fatalf("text = %q, %v; want hello", text, err)
	}
}
