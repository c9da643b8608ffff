package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/testenv"
)

// Issue 10 item 5 (forms): every field of every Admin form, sent overlong,
// with a NUL byte, as invalid UTF-8 or (numbers) beyond int32, answers 4xx
// with the message at the field and changes nothing, on both databases.

// hostile is one bad value for one field.
type hostile struct {
	field, name, value string
}

// hostileText tries field with a NUL byte, invalid UTF-8 and overlong.
func hostileText(field, overlong string) []hostile {
	return []hostile{
		{field, "NUL", "a\x00b"}, {field, "InvalidUTF8", "a\xffb"}, {field, "Overlong", overlong},
	}
}

// hostileNumber tries a number field beyond int32, beyond int64, negative,
// not a number, empty and with a NUL byte.
func hostileNumber(field string) []hostile {
	var hs []hostile
	for name, v := range map[string]string{
		"BeyondInt32": "3000000000", "BeyondInt64": "99999999999999999999", "Negative": "-1",
		"Exponent": "1e3", "Word": "12abc", "Empty": "", "NUL": "5\x00",
	} {
		hs = append(hs, hostile{field, name, v})
	}
	return hs
}

// hostileFlag tries a checkbox with values that are neither on nor off.
func hostileFlag(field string) []hostile {
	return []hostile{{field, "NUL", "\x00"}, {field, "Word", "yes"}, {field, "InvalidUTF8", "\xff"}}
}

func ldapHostileValues() []hostile {
	long := func(prefix string, n int) string { return prefix + strings.Repeat("x", n) }
	hs := append(hostileText("url", "ldap://"+long("a", 600)+".com"), hostileText("bind_dn", long("cn=", 1100))...)
	hs = append(hs, hostileText("base_dn", long("dc=", 1100))...)
	hs = append(hs, hostileText("active_filter", "(cn="+long("", 5000)+")")...)
	hs = append(hs, hostileText("inactive_filter", "(cn="+long("", 5000)+")")...)
	hs = append(hs, hostileText("ca_cert", long("", 70000))...)
	hs = append(hs, hostileText("scope", long("", 100))...)
	hs = append(hs, hostileText("preset", long("", 100))...)
	hs = append(hs, hostileText("bind_password", long("p", 1100))...)
	for _, f := range (domain.AttributeMap{}).Fields() {
		hs = append(hs, hostileText("attr_"+f[0], long("a", 129))...)
	}
	for _, f := range []string{"page_size", "connect_timeout_seconds", "search_timeout_seconds",
		"deactivate_max_users", "deactivate_max_percent", "shrink_max_percent"} {
		hs = append(hs, hostileNumber(f)...)
	}
	for _, f := range []string{"start_tls", "insecure_skip_verify", "clear_bind_password"} {
		hs = append(hs, hostileFlag(f)...)
	}
	// Issue 10 item 6: saved silently before, refused at save now.
	return append(hs,
		hostile{"active_filter", "Unclosed", "(|(uid=*)"}, hostile{"active_filter", "TwoFilters", "(uid=*)(objectClass=*)"},
		hostile{"inactive_filter", "Empty", "()"}, hostile{"url", "Port70000", "ldap://dc1.example.com:70000"},
		hostile{"attr_username", "FilterInjection", "uid)(objectClass=*"}, hostile{"attr_email", "List", "mail,cn"},
		hostile{"preset", "Unknown", "novell"}, hostile{"url", "Markup", "<script>alert(1)</script>"},
		hostile{"attr_title", "Markup", "<b>title</b>"},
	)
}

func TestLDAPSaveRefusesHostileValues(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL})
		const stored = "ldaps://dc1.example.com:636"
		f := ldapForm(stored, 0)
		f.Set("bind_password", testBindPassword)
		if res := e.do(http.MethodPost, "/admin/ldap", f, false); res.Code != http.StatusSeeOther {
			t.Fatalf("first save: status %d", res.Code)
		}
		before, auditBefore := e.ldapSettings(), len(e.audit())
		for _, h := range ldapHostileValues() {
			t.Run(h.field+"/"+h.name, func(t *testing.T) {
				f := ldapForm(stored, before.Version)
				f.Set(h.field, h.value)
				res := e.do(http.MethodPost, "/admin/ldap", f, false)
				if res.Code != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", res.Code)
				}
				doc := parseHTML(t, res)
				if msg := testid(doc, "error-"+h.field); msg == "" {
					t.Errorf("no message at %s; shown: %q", h.field, doc.Find(".idm-field-error").Text())
				}
				if strings.Contains(res.Body.String(), "<script>alert") || strings.Contains(res.Body.String(), "<b>title") {
					t.Error("the refused value is echoed as markup")
				}
				after := e.ldapSettings()
				if after.Version != before.Version || after.URL != before.URL || after.BindPasswordEnc != before.BindPasswordEnc {
					t.Errorf("settings changed: version %d → %d", before.Version, after.Version)
				}
				if n := len(e.audit()); n != auditBefore {
					t.Errorf("%d audit events written", n-auditBefore)
				}
			})
		}
	})
}

func TestScheduleSaveRefusesHostileValues(t *testing.T) {
	// A valid expression longer than the column: every minute listed.
	var minutes []string
	for m := range 60 {
		minutes = append(minutes, strconv.Itoa(m))
	}
	long := "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29 " + strings.Join(minutes, ",") + " * * * *"
	values := append(hostileText("expression", long),
		hostile{"expression", "StepLargerThanRange", "*/61 * * * *"}, hostile{"expression", "Markup", "<script>alert(1)</script>"})
	values = append(values, hostileFlag("enabled")...)
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL})
		before := e.job(domain.JobInactive)
		for _, h := range values {
			t.Run(h.field+"/"+h.name, func(t *testing.T) {
				f := saveForm("0 3 * * *", true, before.Version)
				f.Set(h.field, h.value)
				res := e.do(http.MethodPost, "/admin/batch-sync/inactive", f, false)
				if res.Code != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", res.Code)
				}
				if msg := testid(parseHTML(t, res), "error-"+h.field); msg == "" {
					t.Errorf("no message at %s", h.field)
				}
				if strings.Contains(res.Body.String(), "<script>alert") {
					t.Error("the refused value is echoed as markup")
				}
				assertJobUnchanged(t, e, before)
			})
		}
		for name, v := range map[string]string{"Empty": "", "Word": "x", "BeyondInt64": "99999999999999999999", "NUL": "\x00"} {
			t.Run("version/"+name, func(t *testing.T) {
				f := saveForm("0 3 * * *", true, 0)
				f.Set("version", v)
				if res := e.do(http.MethodPost, "/admin/batch-sync/inactive", f, false); res.Code != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", res.Code)
				}
				assertJobUnchanged(t, e, before)
			})
		}
	})
}

func TestAccountFormsRefuseHostileValues(t *testing.T) {
	pw := "twelve chars or more"
	create := append(hostileText("name", strings.Repeat("n", 65)), hostileText("role", strings.Repeat("r", 100))...)
	create = append(create, hostile{"name", "Markup", "<b>x</b>"},
		hostile{"password", "NUL", pw + "\x00"}, hostile{"password", "InvalidUTF8", pw + "\xff"},
		hostile{"password", "Over72Bytes", strings.Repeat("p", 73)}, hostile{"password", "Over72BytesMultibyte", strings.Repeat("é", 37)})
	setPassword := append(hostileText("pw_name", strings.Repeat("n", 65)),
		hostile{"pw_password", "NUL", pw + "\x00"}, hostile{"pw_password", "InvalidUTF8", pw + "\xff"},
		hostile{"pw_password", "Over72Bytes", strings.Repeat("p", 73)})
	formField := map[string]string{"pw_name": "name", "pw_password": "password"}
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL})
		ctx := context.Background()
		count := func() int {
			accts, err := e.db.ListAccounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return len(accts)
		}
		hashBefore := func() string {
			a, err := e.db.AccountByName(ctx, testAdmin)
			if err != nil {
				t.Fatal(err)
			}
			return a.PasswordHash
		}
		n, hash := count(), hashBefore()
		try := func(path string, h hostile, f url.Values) {
			t.Run(path+"/"+h.field+"/"+h.name, func(t *testing.T) {
				field := h.field
				if ff, ok := formField[field]; ok {
					field = ff
				}
				if field == "password" {
					f.Set("password2", h.value)
				}
				f.Set(field, h.value)
				res := e.do(http.MethodPost, path, f, false)
				if res.Code != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", res.Code)
				}
				if msg := testid(parseHTML(t, res), "error-"+h.field); msg == "" {
					t.Errorf("no message at %s", h.field)
				}
				if count() != n || hashBefore() != hash {
					t.Error("an account was created or a password changed")
				}
			})
		}
		for _, h := range create {
			try("/admin/accounts", h, url.Values{"name": {"bob"}, "role": {"operator"}, "password": {pw}, "password2": {pw}})
		}
		for _, h := range setPassword {
			try("/admin/accounts/password", h, url.Values{"name": {testAdmin}, "password": {pw}, "password2": {pw}})
		}
	})
}

func TestAccountDisableAndOverrideRefuseHostileValues(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL})
		ctx := context.Background()
		if _, err := e.db.CreateAccount(ctx, "bob", domain.RoleOperator, "x", "test"); err != nil {
			t.Fatal(err)
		}
		if res := e.do(http.MethodPost, "/admin/ldap", ldapForm("ldap://dir.example.com", 0), false); res.Code != http.StatusSeeOther {
			t.Fatalf("save: %d", res.Code)
		}
		// refused posts a hostile switch and checks that unchanged still holds.
		refused := func(path, field string, unchanged func() bool) {
			for _, h := range hostileFlag(field) {
				t.Run(field+"/"+h.name, func(t *testing.T) {
					res := e.do(http.MethodPost, path, url.Values{field: {h.value}}, false)
					if res.Code != http.StatusUnprocessableEntity || testid(parseHTML(t, res), "error-message") == "" {
						t.Fatalf("status %d, want 422 with a message", res.Code)
					}
					if !unchanged() {
						t.Error("the refused post changed something")
					}
				})
			}
		}
		refused("/admin/accounts/bob/disabled", "disabled", func() bool {
			a, err := e.db.AccountByName(ctx, "bob")
			return err == nil && !a.Disabled
		})
		refused("/admin/ldap/override", "allow", func() bool { return !e.ldapSettings().AllowNextPastThreshold })
		for name, path := range map[string]string{"NUL": "%00", "InvalidUTF8": "%FF", "Overlong": strings.Repeat("n", 65)} {
			t.Run("name/"+name, func(t *testing.T) {
				res := e.do(http.MethodPost, "/admin/accounts/"+path+"/disabled", url.Values{"disabled": {"true"}}, false)
				if res.Code != http.StatusNotFound || !strings.Contains(testid(parseHTML(t, res), "error-message"), "There is no account") {
					t.Fatalf("status %d, want 404 with a message", res.Code)
				}
			})
		}
	})
}

// A form that does not decode is a 400 on every Admin form and on sign-in,
// and changes nothing.
func TestUnreadableFormIs400(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.db.CreateAccount(ctx, "bob", domain.RoleOperator, "x", "test"); err != nil {
		t.Fatal(err)
	}
	before := e.job(domain.JobInactive)
	for _, path := range []string{
		"/admin/ldap", "/admin/ldap/preset", "/admin/ldap/test", "/admin/ldap/override", "/admin/batch-sync/inactive",
		"/admin/accounts", "/admin/accounts/password", "/admin/accounts/bob/disabled", "/login",
	} {
		t.Run(path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("version=1&allow=true&disabled=true&expression=%zz"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.AddCookie(e.cookie)
			res := serve(e.h, req)
			if res.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", res.Code)
			}
			if msg := testid(parseHTML(t, res), "error-message"); !strings.Contains(msg, "The form could not be read") {
				t.Errorf("message %q", msg)
			}
		})
	}
	if s := e.ldapSettings(); s.Version != 0 || s.AllowNextPastThreshold {
		t.Error("the LDAP settings changed")
	}
	assertJobUnchanged(t, e, before)
	if a, err := e.db.AccountByName(ctx, "bob"); err != nil || a.Disabled {
		t.Errorf("bob: %v %v", a, err)
	}
}
