package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
	"idm/web"
)

const testPassword = "correct horse battery"

// foundation is a server with an administrator "admin" and an operator
// "oper", both with testPassword.
type foundation struct {
	db  *store.DB
	srv *httptest.Server
}

func newFoundation(t *testing.T, url string) *foundation {
	t.Helper()
	return newFoundationAt(t, url, nil)
}

// newFoundationAt is newFoundation with sign-in on the clock now (nil: the
// database's clock).
func newFoundationAt(t *testing.T, url string, now func() time.Time) *foundation {
	t.Helper()
	db := testenv.MustOpenDB(t, url)
	if now == nil {
		now = db.Now
	}
	for name, role := range map[string]domain.AccountRole{"admin": domain.RoleAdministrator, "oper": domain.RoleOperator} {
		hash, err := auth.HashPassword(testPassword)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateAccount(context.Background(), name, role, hash, "test"); err != nil {
			t.Fatal(err)
		}
	}
	h := web.New(web.Deps{Store: db, Auth: auth.New(db, now, 30*time.Minute, 12*time.Hour)})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &foundation{db: db, srv: srv}
}

// client is a browser-like client that keeps cookies and does not follow redirects.
func (f *foundation) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *foundation) post(t *testing.T, c *http.Client, path string, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func (f *foundation) get(t *testing.T, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (f *foundation) login(t *testing.T, c *http.Client, name string) {
	t.Helper()
	res := f.post(t, c, "/login", url.Values{"username": {name}, "password": {testPassword}})
	if res.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("login %s: %d %s", name, res.StatusCode, body)
	}
}

func TestLogin(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		f := newFoundation(t, dbURL)

		t.Run("OK", func(t *testing.T) {
			c := f.client(t)
			res := f.post(t, c, "/login", map[string][]string{"username": {"admin"}, "password": {testPassword}})
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
				t.Fatalf("login: %d → %q", res.StatusCode, res.Header.Get("Location"))
			}
			cookie := res.Cookies()[0]
			if cookie.Name != "idm_session" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
				t.Fatalf("cookie = %+v", cookie)
			}
			if res, body := f.get(t, c, "/admin"); res.StatusCode != 200 || !strings.Contains(body, `data-testid="tile-batch-sync"`) {
				t.Fatalf("admin home: %d", res.StatusCode)
			}
		})
		t.Run("NewSessionIDAtLogin", func(t *testing.T) {
			c := f.client(t)
			f.login(t, c, "admin")
			u, _ := url.Parse(f.srv.URL)
			first := c.Jar.Cookies(u)[0].Value
			f.login(t, c, "admin")
			second := c.Jar.Cookies(u)[0].Value
			if first == second {
				t.Fatal("session id kept across sign-ins")
			}
			old := f.client(t)
			old.Jar.SetCookies(u, []*http.Cookie{{Name: "idm_session", Value: first}})
			if res, _ := f.get(t, old, "/admin"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("old session still valid: %d", res.StatusCode)
			}
		})
		t.Run("ErrOneMessageForWrongPasswordAndUnknownAccount", func(t *testing.T) {
			var bodies []string
			for _, name := range []string{"admin", "nobody"} {
				res := f.post(t, f.client(t), "/login", map[string][]string{"username": {name}, "password": {"wrong password!"}})
				body, _ := io.ReadAll(res.Body)
				if res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("%s: status %d", name, res.StatusCode)
				}
				bodies = append(bodies, string(body))
			}
			for _, b := range bodies {
				if !strings.Contains(b, "Wrong account name or password.") {
					t.Fatalf("message missing: %s", b)
				}
			}
		})
		t.Run("ErrThrottled", func(t *testing.T) {
			var last *http.Response
			for i := 0; i < auth.AccountLimit+1; i++ {
				last = f.post(t, f.client(t), "/login", map[string][]string{"username": {"oper"}, "password": {"wrong password!"}})
			}
			body, _ := io.ReadAll(last.Body)
			if last.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "Too many failed sign-ins") {
				t.Fatalf("after %d failures: %d %s", auth.AccountLimit+1, last.StatusCode, body)
			}
			// Even the right password is refused while blocked.
			res := f.post(t, f.client(t), "/login", map[string][]string{"username": {"oper"}, "password": {testPassword}})
			if res.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("right password while blocked: %d", res.StatusCode)
			}
		})
	})
}

func TestAccess(t *testing.T) {
	f := newFoundation(t, testenv.SQLiteURL(t))
	admin, oper, anon := f.client(t), f.client(t), f.client(t)
	f.login(t, admin, "admin")
	f.login(t, oper, "oper")

	for _, tc := range []struct {
		name     string
		c        *http.Client
		path     string
		status   int
		location string
	}{
		{"AnonymousToLogin", anon, "/admin/accounts", http.StatusSeeOther, "/login?next=%2Fadmin%2Faccounts"},
		{"AnonymousOperatorToLogin", anon, "/operator", http.StatusSeeOther, "/login?next=%2Foperator"},
		{"OperatorRefusedAdmin", oper, "/admin", http.StatusForbidden, ""},
		{"OperatorRefusedAdminPage", oper, "/admin/accounts", http.StatusForbidden, ""},
		{"OperatorOperator", oper, "/operator", http.StatusOK, ""},
		{"AdminOperator", admin, "/operator", http.StatusOK, ""},
		{"AdminAdmin", admin, "/admin/accounts", http.StatusOK, ""},
		{"Healthz", anon, "/healthz", http.StatusOK, ""},
		{"Readyz", anon, "/readyz", http.StatusOK, ""},
		{"NotFound", admin, "/admin/nothing-here", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := f.get(t, tc.c, tc.path)
			if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
				t.Fatalf("GET %s = %d %q, want %d %q\n%s", tc.path, res.StatusCode, res.Header.Get("Location"), tc.status, tc.location, body)
			}
		})
	}

	t.Run("OperatorRefusedAdminAction", func(t *testing.T) {
		res := f.post(t, oper, "/admin/accounts", url.Values{"name": {"mallory"}, "role": {"administrator"}, "password": {testPassword}, "password2": {testPassword}})
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("operator creating an account: %d", res.StatusCode)
		}
		if _, err := f.db.AccountByName(context.Background(), "mallory"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("account created by an operator: %v", err)
		}
	})
	t.Run("ErrCrossSiteRefused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/admin/accounts", strings.NewReader("name=x&role=operator"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := admin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST: %d", res.StatusCode)
		}
	})
	t.Run("NextStaysOnSite", func(t *testing.T) {
		c := f.client(t)
		res := f.post(t, c, "/login", url.Values{"username": {"admin"}, "password": {testPassword}, "next": {"//evil.example/"}})
		if loc := res.Header.Get("Location"); loc != "/admin" {
			t.Fatalf("next=//evil.example/ redirected to %q", loc)
		}
	})
	t.Run("OperatorNextToAdminIgnored", func(t *testing.T) {
		c := f.client(t)
		res := f.post(t, c, "/login", url.Values{"username": {"oper"}, "password": {testPassword}, "next": {"/admin/accounts"}})
		if loc := res.Header.Get("Location"); loc != "/operator" {
			t.Fatalf("operator sent to %q", loc)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		c := f.client(t)
		f.login(t, c, "oper")
		if res := f.post(t, c, "/logout", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", res.StatusCode)
		}
		if res, _ := f.get(t, c, "/operator"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("after logout: %d", res.StatusCode)
		}
	})
}

func TestAccountsPage(t *testing.T) {
	f := newFoundation(t, testenv.SQLiteURL(t))
	c := f.client(t)
	f.login(t, c, "admin")
	t.Run("ErrShortPasswordChangesNothing", func(t *testing.T) {
		res := f.post(t, c, "/admin/accounts", url.Values{"name": {"carol"}, "role": {"operator"}, "password": {"short"}, "password2": {"short"}})
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "at least 12 characters") {
			t.Fatalf("short password: %d", res.StatusCode)
		}
		if _, err := f.db.AccountByName(context.Background(), "carol"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatal("account created despite the bad password")
		}
	})
	t.Run("OK", func(t *testing.T) {
		res := f.post(t, c, "/admin/accounts", url.Values{"name": {"carol"}, "role": {"operator"}, "password": {testPassword}, "password2": {testPassword}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create: %d", res.StatusCode)
		}
		_, body := f.get(t, c, "/admin/accounts")
		if !strings.Contains(body, "Account carol created as operator.") || !strings.Contains(body, `data-testid="account-carol"`) {
			t.Fatalf("flash or row missing:\n%s", body)
		}
		if strings.Contains(body, testPassword) {
			t.Fatal("password rendered back")
		}
	})
}

// A locked account is answered 429 with Retry-After and a message that
// says when; when the lock ends, the right password works.
func TestLoginThrottled(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		f := newFoundationAt(t, dbURL, func() time.Time { return now })
		wrong := url.Values{"username": {"admin"}, "password": {"wrong password!"}}
		for range auth.AccountLimit {
			if res := f.post(t, f.client(t), "/login", wrong); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", res.StatusCode)
			}
		}
		now = now.Add(5 * time.Minute)
		right := url.Values{"username": {"admin"}, "password": {testPassword}, "next": {"/admin/accounts"}}
		res := f.post(t, f.client(t), "/login", right)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "600" {
			t.Fatalf("locked: %d, Retry-After %q; want 429, 600", res.StatusCode, res.Header.Get("Retry-After"))
		}
		for _, want := range []string{`data-testid="login-error"`, "Too many failed sign-ins", "Try again in 10 minutes.", `value="admin"`, `value="/admin/accounts"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the page lacks %q:\n%s", want, body)
			}
		}
		now = now.Add(10 * time.Minute)
		if res := f.post(t, f.client(t), "/login", right); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/accounts" {
			t.Fatalf("when the lock ends: %d → %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// A name no account can have is a wrong sign-in, never a fault.
func TestLoginImpossibleName(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		f := newFoundation(t, dbURL)
		for _, name := range []string{strings.Repeat("a", 300), "ad\x00min", "ad\xffmin"} {
			res := f.post(t, f.client(t), "/login", url.Values{"username": {name}, "password": {testPassword}})
			if res.StatusCode != http.StatusUnauthorized {
				body, _ := io.ReadAll(res.Body)
				t.Errorf("name %.20q: %d, want 401\n%s", name, res.StatusCode, body)
			}
		}
	})
}
