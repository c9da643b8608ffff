package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/opcache"
	"idm/internal/store"
	"idm/internal/testenv"
	"idm/web"
)

const opPassword = "operator test password"

// opPasswordHash is opPassword's bcrypt hash, computed once per test binary:
// bcrypt is slow on purpose, and much slower under -race.
var opPasswordHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(opPassword) })

// opEnv is a server with the Operator side wired as serve wires it: an
// engine, the Operator cache and its status in the frame. Accounts: "olga"
// (operator) and "adam" (administrator), both with opPassword.
type opEnv struct {
	db    *store.DB
	srv   *httptest.Server
	cache *opcache.Cache
	eng   *engine.Engine
}

func newOpEnv(t *testing.T, dbURL string, dial engine.Dialer) *opEnv {
	t.Helper()
	db := testenv.MustOpenDB(t, dbURL)
	ctx := context.Background()
	for name, role := range map[string]domain.AccountRole{"olga": domain.RoleOperator, "adam": domain.RoleAdministrator} {
		hash, err := opPasswordHash()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateAccount(ctx, name, role, hash, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if dial == nil {
		dial = engine.DialDirectory
	}
	eng := engine.New(engine.Deps{
		DB: db, Dial: dial, Instance: "web-test",
		// The tests keep the bind password in clear: the box has its own tests.
		OpenSecret: func(s string) (string, error) { return s, nil },
	})
	cache := opcache.New(db, time.UTC, db.Now)
	h := web.New(web.Deps{
		Store: db, Auth: auth.New(db, db.Now, 30*time.Minute, 12*time.Hour), Location: time.UTC, Now: db.Now,
		Engine: eng, Cache: cache, CacheStatus: cache.Status,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &opEnv{db: db, srv: srv, cache: cache, eng: eng}
}

// signIn returns a client signed in as name that does not follow redirects.
func (e *opEnv) signIn(t *testing.T, name string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res := e.post(t, c, "/login", url.Values{"username": {name}, "password": {opPassword}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d %s", name, res.StatusCode, readAll(t, res))
	}
	return c
}

func (e *opEnv) post(t *testing.T, c *http.Client, path string, form url.Values, header http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func (e *opEnv) get(t *testing.T, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return res, readAll(t, res)
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// configureLDAP saves settings that make runs dial (the dialer decides
// what they reach).
func (e *opEnv) configureLDAP(t *testing.T, ldapURL, bindDN, password string) {
	t.Helper()
	ctx := context.Background()
	s, err := e.db.LDAPSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.URL, s.BaseDN, s.BindDN, s.BindPasswordEnc = ldapURL, testenv.SlapdBaseDN, bindDN, password
	s.PageSize = 2
	s.DeactivateMaxUsers, s.DeactivateMaxPercent = 1000, 100
	if _, err := e.db.SaveLDAPSettings(ctx, s, "test"); err != nil {
		t.Fatal(err)
	}
}
