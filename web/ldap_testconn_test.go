package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"idm/internal/testenv"
)

// connTest tests the LDAP connection form against a real slapd.
type connTest struct {
	e  *testEnv
	sl *testenv.Slapd
}

// form is the connection form for the slapd, opened at version.
func (c connTest) form(version int) url.Values {
	f := ldapForm(c.sl.URL, version)
	f.Set("bind_dn", c.sl.AdminDN)
	f.Set("base_dn", c.sl.BaseDN)
	return f
}

// test posts f to Test connection and returns the answer, which never shows
// the bind password.
func (c connTest) test(t *testing.T, f url.Values, htmx bool) *goquery.Document {
	t.Helper()
	res := c.e.do(http.MethodPost, "/admin/ldap/test", f, htmx)
	if res.Code != http.StatusOK {
		t.Fatalf("status %d: %s", res.Code, res.Body)
	}
	if strings.Contains(res.Body.String(), c.sl.AdminPassword) {
		t.Fatal("the result shows the bind password")
	}
	if htmx == strings.Contains(res.Body.String(), "<html") {
		t.Fatalf("htmx=%v but whole page=%v", htmx, !htmx)
	}
	return parseHTML(t, res)
}

func stepFailed(doc *goquery.Document, label string) bool {
	return doc.Find(`[data-testid="step-`+label+`"] [data-testid="step-failed"]`).Length() == 1
}

// wantWorks checks a passed test: every step, the counts and the samples.
func wantWorks(t *testing.T, doc *goquery.Document) {
	t.Helper()
	if doc.Find(`[data-testid="test-ok"]`).Length() != 1 {
		t.Fatalf("the test failed: %s", testid(doc, "ldap-test-result"))
	}
	steps, passed := doc.Find(`[data-testid="test-steps"] tbody tr`).Length(), doc.Find(`[data-testid="step-ok"]`).Length()
	if steps < 6 || passed != steps {
		t.Errorf("%d of %d steps passed, want all of address, TCP, (TLS,) bind, base DN and both filters: %s", passed, steps, testid(doc, "test-steps"))
	}
	// people.ldif: seven active people, three locked.
	if a, i := testid(doc, "active-count"), testid(doc, "inactive-count"); a != "7" || i != "3" {
		t.Errorf("counts active %s, inactive %s; want 7 and 3", a, i)
	}
	samples := doc.Find(`[data-testid="sample"]`)
	if samples.Length() != 5 {
		t.Fatalf("%d samples, want 5", samples.Length())
	}
	first := samples.First().Find("td")
	if first.Eq(0).Text() != "alice" || first.Eq(5).Text() != "alice@example.com" || first.Eq(8).Text() != "ENG" || first.Eq(1).Text() == "" {
		t.Errorf("first sample mapped as %q", strings.Join(strings.Fields(samples.First().Text()), " "))
	}
}

func TestLDAPTestConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sl := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"))
	c := connTest{e: e, sl: sl}
	c.unsaved(t)
	c.stored(t)
}

// unsaved tests the form's own values, nothing saved yet.
func (c connTest) unsaved(t *testing.T) {
	form, test, sl := c.form, c.test, c.sl
	t.Run("OKUnsavedFormValues", func(t *testing.T) {
		f := form(0)
		f.Set("bind_password", sl.AdminPassword)
		wantWorks(t, test(t, f, true))
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		f := form(0)
		f.Set("bind_password", "not-the-password")
		doc := test(t, f, true)
		if !stepFailed(doc, "Bind") {
			t.Fatalf("the bind step did not fail: %s", testid(doc, "test-steps"))
		}
		if doc.Find(`[data-testid="test-failed"]`).Length() != 1 || doc.Find(`[data-testid="active-count"]`).Length() != 0 {
			t.Error("a failed test shows counts or no failure")
		}
		if strings.Contains(doc.Text(), "not-the-password") {
			t.Error("the result shows the typed password")
		}
	})
	t.Run("ErrNothingListening", func(t *testing.T) {
		f := form(0)
		f.Set("url", "ldap://127.0.0.1:1")
		f.Set("bind_password", sl.AdminPassword)
		doc := test(t, f, true)
		if !stepFailed(doc, "TCP connection") {
			t.Fatalf("the TCP step did not fail: %s", testid(doc, "test-steps"))
		}
	})
	t.Run("ErrFilterSyntax", func(t *testing.T) {
		f := form(0)
		f.Set("bind_password", sl.AdminPassword)
		f.Set("inactive_filter", "(&(objectClass=inetOrgPerson)(pwdAccountLockedTime=*)")
		doc := test(t, f, true)
		if !stepFailed(doc, "Inactive filter") {
			t.Fatalf("the inactive filter step did not fail: %s", testid(doc, "test-steps"))
		}
	})
	t.Run("ErrFormInvalid", func(t *testing.T) {
		f := form(0)
		f.Set("url", "http://nope")
		doc := test(t, f, true)
		if !strings.Contains(testid(doc, "test-problems"), "url:") {
			t.Errorf("problems %q", testid(doc, "test-problems"))
		}
	})
}

// stored saves the settings with the password, then tests with an empty
// password field: the stored password, to the saved server only.
func (c connTest) stored(t *testing.T) {
	form, test, sl, e := c.form, c.test, c.sl, c.e
	// Save with the password; from then on an empty password field tests
	// with the stored one.
	f := form(0)
	f.Set("bind_password", sl.AdminPassword)
	if res := e.do(http.MethodPost, "/admin/ldap", f, false); res.Code != http.StatusSeeOther {
		t.Fatalf("save: status %d: %s", res.Code, res.Body)
	}
	t.Run("OKStoredPassword", func(t *testing.T) {
		wantWorks(t, test(t, form(1), true))
	})
	t.Run("OKWithoutJavaScript", func(t *testing.T) {
		doc := test(t, form(1), false)
		wantWorks(t, doc)
		if v, _ := doc.Find(`[data-testid="ldap-url"]`).Attr("value"); v != sl.URL {
			t.Errorf("the page lost the form: url %q", v)
		}
	})
	t.Run("ErrStoredPasswordToAnotherServer", func(t *testing.T) {
		f := form(1)
		f.Set("url", sl.LDAPSURL)
		doc := test(t, f, true)
		if !strings.Contains(testid(doc, "test-problems"), "Type the bind password to test a server other than the saved one") {
			t.Errorf("problems %q", testid(doc, "test-problems"))
		}
	})
	// Issue 10 item 2: the stored password goes only to the server, TLS and
	// bind DN it was saved with; the old check looked at the URL alone.
	for name, edit := range map[string]func(url.Values){
		"ErrStoredPasswordToAnotherBindDN":     func(f url.Values) { f.Set("bind_dn", "cn=someone,"+sl.BaseDN) },
		"ErrStoredPasswordWithStartTLSChanged": func(f url.Values) { f.Set("start_tls", "true") },
		"ErrStoredPasswordToAnotherHostName":   func(f url.Values) { f.Set("url", strings.Replace(sl.URL, "127.0.0.1", "localhost", 1)) },
	} {
		t.Run(name, func(t *testing.T) {
			f := form(1)
			edit(f)
			doc := test(t, f, true)
			if !strings.Contains(testid(doc, "test-problems"), "Type the bind password to test") {
				t.Errorf("problems %q; steps %q", testid(doc, "test-problems"), testid(doc, "test-steps"))
			}
		})
	}
	t.Run("OKLDAPSWithCA", func(t *testing.T) {
		f := form(1)
		f.Set("url", sl.LDAPSURL)
		f.Set("ca_cert", sl.CACertPEM)
		f.Set("bind_password", sl.AdminPassword)
		doc := test(t, f, true)
		wantWorks(t, doc)
		if doc.Find(`[data-testid="step-TLS"] [data-testid="step-ok"]`).Length() != 1 {
			t.Errorf("no passed TLS step: %s", testid(doc, "test-steps"))
		}
	})
}
