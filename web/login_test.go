package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/testenv"
)

// loginAccounts are the sign-in tests' accounts: an administrator "admin"
// and an operator "oper".
var loginAccounts = []account{{"admin", domain.RoleAdministrator}, {"oper", domain.RoleOperator}}

func TestLogin(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		f := newEnv(t, envOptions{dbURL: dbURL, accounts: loginAccounts})

		t.Run("OK", func(t *testing.T) {
			c := f.newClient(t)
			res := c.post(t, "/login", map[string][]string{"username": {"admin"}, "password": {testPassword}}, nil)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
				t.Fatalf("login: %d → %q", res.StatusCode, res.Header.Get("Location"))
			}
			cookie := res.Cookies()[0]
			if cookie.Name != "idm_session" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
				t.Fatalf("cookie = %+v", cookie)
			}
			if res, body := c.get(t, "/admin"); res.StatusCode != 200 || !strings.Contains(body, `data-testid="tile-batch-sync"`) {
				t.Fatalf("admin home: %d", res.StatusCode)
			}
		})
		t.Run("NewSessionIDAtLogin", func(t *testing.T) {
			c := f.newClient(t)
			c.login(t, "admin")
			u, _ := url.Parse(f.srv.URL)
			first := c.Jar.Cookies(u)[0].Value
			c.login(t, "admin")
			second := c.Jar.Cookies(u)[0].Value
			if first == second {
				t.Fatal("session id kept across sign-ins")
			}
			old := f.newClient(t)
			old.Jar.SetCookies(u, []*http.Cookie{{Name: "idm_session", Value: first}})
			if res, _ := old.get(t, "/admin"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("old session still valid: %d", res.StatusCode)
			}
		})
		t.Run("ErrOneMessageForWrongPasswordAndUnknownAccount", func(t *testing.T) {
			var bodies []string
			for _, name := range []string{"admin", "nobody"} {
				res := f.newClient(t).post(t, "/login", map[string][]string{"username": {name}, "password": {"wrong password!"}}, nil)
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
				last = f.newClient(t).post(t, "/login", map[string][]string{"username": {"oper"}, "password": {"wrong password!"}}, nil)
			}
			body, _ := io.ReadAll(last.Body)
			if last.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "Too many failed sign-ins") {
				t.Fatalf("after %d failures: %d %s", auth.AccountLimit+1, last.StatusCode, body)
			}
			// Even the right password is refused while blocked.
			res := f.newClient(t).post(t, "/login", map[string][]string{"username": {"oper"}, "password": {testPassword}}, nil)
			if res.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("right password while blocked: %d", res.StatusCode)
			}
		})
	})
}

func TestAccess(t *testing.T) {
	f := newEnv(t, envOptions{accounts: loginAccounts})
	admin, oper, anon := f.newClient(t), f.newClient(t), f.newClient(t)
	admin.login(t, "admin")
	oper.login(t, "oper")

	for _, tc := range []struct {
		name     string
		c        *client
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
			res, body := tc.c.get(t, tc.path)
			if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
				t.Fatalf("GET %s = %d %q, want %d %q\n%s", tc.path, res.StatusCode, res.Header.Get("Location"), tc.status, tc.location, body)
			}
		})
	}

	t.Run("OperatorRefusedAdminAction", func(t *testing.T) {
		res := oper.post(t, "/admin/accounts", url.Values{"name": {"mallory"}, "role": {"administrator"}, "password": {testPassword}, "password2": {testPassword}}, nil)
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
		c := f.newClient(t)
		res := c.post(t, "/login", url.Values{"username": {"admin"}, "password": {testPassword}, "next": {"//evil.example/"}}, nil)
		if loc := res.Header.Get("Location"); loc != "/admin" {
			t.Fatalf("next=//evil.example/ redirected to %q", loc)
		}
	})
	t.Run("OperatorNextToAdminIgnored", func(t *testing.T) {
		c := f.newClient(t)
		res := c.post(t, "/login", url.Values{"username": {"oper"}, "password": {testPassword}, "next": {"/admin/accounts"}}, nil)
		if loc := res.Header.Get("Location"); loc != "/operator" {
			t.Fatalf("operator sent to %q", loc)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		c := f.newClient(t)
		c.login(t, "oper")
		if res := c.post(t, "/logout", nil, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", res.StatusCode)
		}
		if res, _ := c.get(t, "/operator"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("after logout: %d", res.StatusCode)
		}
	})
}

func TestAccountsPage(t *testing.T) {
	f := newEnv(t, envOptions{accounts: loginAccounts})
	c := f.newClient(t)
	c.login(t, "admin")
	t.Run("ErrShortPasswordChangesNothing", func(t *testing.T) {
		res := c.post(t, "/admin/accounts", url.Values{"name": {"carol"}, "role": {"operator"}, "password": {"short"}, "password2": {"short"}}, nil)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "at least 12 characters") {
			t.Fatalf("short password: %d", res.StatusCode)
		}
		if _, err := f.db.AccountByName(context.Background(), "carol"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatal("account created despite the bad password")
		}
	})
	t.Run("OK", func(t *testing.T) {
		res := c.post(t, "/admin/accounts", url.Values{"name": {"carol"}, "role": {"operator"}, "password": {testPassword}, "password2": {testPassword}}, nil)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create: %d", res.StatusCode)
		}
		_, body := c.get(t, "/admin/accounts")
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
		f := newEnv(t, envOptions{dbURL: dbURL, accounts: loginAccounts, authNow: func() time.Time { return now }})
		wrong := url.Values{"username": {"admin"}, "password": {"wrong password!"}}
		for range auth.AccountLimit {
			if res := f.newClient(t).post(t, "/login", wrong, nil); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", res.StatusCode)
			}
		}
		now = now.Add(5 * time.Minute)
		right := url.Values{"username": {"admin"}, "password": {testPassword}, "next": {"/admin/accounts"}}
		res := f.newClient(t).post(t, "/login", right, nil)
		body := readAll(t, res)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "600" {
			t.Fatalf("locked: %d, Retry-After %q; want 429, 600", res.StatusCode, res.Header.Get("Retry-After"))
		}
		for _, want := range []string{`data-testid="login-error"`, "Too many failed sign-ins", "Try again in 10 minutes.", `value="admin"`, `value="/admin/accounts"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q:\n%s", want, body)
			}
		}
		now = now.Add(10 * time.Minute)
		if res := f.newClient(t).post(t, "/login", right, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/accounts" {
			t.Fatalf("when the lock ends: %d → %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// A name no account can have is a wrong sign-in, never a fault.
func TestLoginImpossibleName(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		f := newEnv(t, envOptions{dbURL: dbURL, accounts: loginAccounts})
		for _, name := range []string{strings.Repeat("a", 300), "ad\x00min", "ad\xffmin"} {
			res := f.newClient(t).post(t, "/login", url.Values{"username": {name}, "password": {testPassword}}, nil)
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("name %.20q: %d, want 401\n%s", name, res.StatusCode, readAll(t, res))
			}
		}
	})
}
