package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"idm/internal/cli"
)

// adminClient signs in to a served idm as name and returns a client that
// keeps the session and does not follow redirects.
func adminClient(t *testing.T, base, name, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res := postForm(t, c, base+"/login", url.Values{"username": {name}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: status %d", res.StatusCode)
	}
	return c
}

func postForm(t *testing.T, c *http.Client, target string, f url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// ldapPageForm is the LDAP connection form as the page fills it in: what a
// browser would post unchanged.
func ldapPageForm(t *testing.T, c *http.Client, base string) url.Values {
	t.Helper()
	res, err := c.Get(base + "/admin/ldap")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	f := url.Values{}
	doc.Find(`[data-testid="ldap-form"] input[name]`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		if typ, _ := s.Attr("type"); typ == "checkbox" && s.AttrOr("checked", "-") == "-" {
			return
		}
		f.Set(name, s.AttrOr("value", ""))
	})
	doc.Find(`[data-testid="ldap-form"] textarea`).Each(func(_ int, s *goquery.Selection) { f.Set(s.AttrOr("name", ""), s.Text()) })
	f.Set("scope", doc.Find(`select[name="scope"] option[selected]`).AttrOr("value", ""))
	return f
}

// formMessage posts the form with edit applied and returns the message the
// page shows at field; the save must be refused.
func formMessage(t *testing.T, c *http.Client, base, field string, edit url.Values) string {
	t.Helper()
	f := ldapPageForm(t, c, base)
	for k, v := range edit {
		f[k] = v
	}
	res := postForm(t, c, base+"/admin/ldap", f)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("form: status %d, want 422", res.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.TrimSpace(doc.Find(`[data-testid="error-` + field + `"]`).Text())
	if msg == "" {
		t.Fatalf("form: no message at %s", field)
	}
	return msg
}

// The form and idm ldap configure use one rule: each refuses what the other
// refuses, and says it with the same words (issue 9, issue 10 item 6).
func TestLDAPConfigureRefusesWhatTheFormRefuses(t *testing.T) {
	p := newProgram(t, "")
	p.run(t, e2ePassword+"\n", "account", "create", "--role", "administrator", "alice")
	pwFile := writeTestFile(t, "bind.pw", "Bind-Secret-1\n")
	p.run(t, "", "ldap", "configure", "--preset", "openldap", "--url", "ldaps://dc1.example.com:636",
		"--bind-dn", "cn=admin,dc=example,dc=com", "--bind-password-file", pwFile, "--base-dn", "dc=example,dc=com")
	base := p.serve(t)
	c := adminClient(t, base, "alice", e2ePassword)
	junk := writeTestFile(t, "ca.pem", "junk\n")

	cases := []struct {
		name, field, flag string
		form              url.Values
		args              []string
	}{
		{"FilterUnclosed", "active_filter", "--active-filter", url.Values{"active_filter": {"(|(uid=*)"}}, []string{"--active-filter", "(|(uid=*)"}},
		{"TwoFilters", "active_filter", "--active-filter", url.Values{"active_filter": {"(uid=*)(objectClass=*)"}}, []string{"--active-filter", "(uid=*)(objectClass=*)"}},
		{"EmptyFilter", "inactive_filter", "--inactive-filter", url.Values{"inactive_filter": {"()"}}, []string{"--inactive-filter", "()"}},
		{"Port70000", "url", "--url", url.Values{"url": {"ldaps://dc1.example.com:70000"}}, []string{"--url", "ldaps://dc1.example.com:70000"}},
		{"AttributeInjection", "attr_username", "--map username=", url.Values{"attr_username": {"uid)(objectClass=*"}}, []string{"--map", "username=uid)(objectClass=*"}},
		{"AttributeList", "attr_email", "--map email=", url.Values{"attr_email": {"mail,cn"}}, []string{"--map", "email=mail,cn"}},
		{"UnknownPreset", "preset", "--preset", url.Values{"preset": {"novell"}}, []string{"--preset", "novell"}},
		{"CAFileNoCertificate", "ca_cert", "--ca-cert-file", url.Values{"ca_cert": {"junk\n"}}, []string{"--ca-cert-file", junk}},
		{"MaxUsersBeyondInt32", "deactivate_max_users", "--deactivate-max-users", url.Values{"deactivate_max_users": {"3000000000"}}, []string{"--deactivate-max-users", "3000000000"}},
		{"StoredPasswordToAnotherServer", "bind_password", "--bind-password-file", url.Values{"url": {"ldaps://evil.example.net"}}, []string{"--url", "ldaps://evil.example.net"}},
		{"StoredPasswordToAnotherBindDN", "bind_password", "--bind-password-file", url.Values{"bind_dn": {"cn=root,dc=example,dc=com"}}, []string{"--bind-dn", "cn=root,dc=example,dc=com"}},
		{"PasswordAndRemove", "bind_password", "--bind-password-file",
			url.Values{"bind_password": {"Bind-Secret-2"}, "clear_bind_password": {"true"}}, []string{"--bind-password-file", pwFile, "--clear-bind-password"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.flag + ": " + formMessage(t, c, base, tc.field, tc.form)
			var out, errOut bytes.Buffer
			err := cli.Run(context.Background(), append([]string{"ldap", "configure"}, tc.args...), p.io("", &out, &errOut))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("idm ldap configure: %v\nwant the form's message: %s", err, want)
			}
			if !strings.Contains(err.Error(), "nothing was saved") || strings.Contains(err.Error(), "invalid:") {
				t.Errorf("error %q: want it to say nothing was saved, without the code", err)
			}
			var shown struct{ Version int }
			if err := json.Unmarshal([]byte(p.run(t, "", "ldap", "show", "--json")), &shown); err != nil || shown.Version != 1 {
				t.Errorf("settings changed: version %d, %v", shown.Version, err)
			}
		})
	}
	t.Run("OKNewServerWithItsPassword", func(t *testing.T) {
		out := p.run(t, "", "ldap", "configure", "--url", "ldaps://dc2.example.com", "--bind-password-file", pwFile)
		if !strings.Contains(out, "LDAP connection saved (version 2)") {
			t.Errorf("output: %s", out)
		}
	})
}
