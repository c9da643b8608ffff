package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"idm/internal/domain"
)

const testBindPassword = "Bind-Secret-7f3a9c"

// ldapForm is a complete LDAP connection form as the page posts it.
func ldapForm(ldapURL string, version int) url.Values {
	s := domain.DefaultLDAPSettings()
	f := url.Values{
		"version": {strconv.Itoa(version)}, "preset": {s.Preset},
		"url": {ldapURL}, "ca_cert": {""}, "bind_dn": {"cn=admin,dc=example,dc=com"}, "bind_password": {""},
		"base_dn": {"dc=example,dc=com"}, "scope": {s.Scope},
		"active_filter": {s.ActiveFilter}, "inactive_filter": {s.InactiveFilter},
		"page_size": {"500"}, "connect_timeout_seconds": {"5"}, "search_timeout_seconds": {"30"},
		"deactivate_max_users": {"500"}, "deactivate_max_percent": {"10"}, "shrink_max_percent": {"20"},
	}
	for _, field := range s.AttributeMap.Fields() {
		f.Set("attr_"+field[0], field[1])
	}
	return f
}

func (e *testEnv) ldapSettings() domain.LDAPSettings {
	e.t.Helper()
	s, err := e.db.LDAPSettings(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestLDAPSave(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	t.Run("OKPasswordSealedNeverShown", func(t *testing.T) { ldapSaveOKPasswordSealedNeverShown(t, e) })
	t.Run("OKEmptyPasswordKeepsIt", func(t *testing.T) { ldapSaveOKEmptyPasswordKeepsIt(t, e) })
	t.Run("ErrChangedServerNeedsThePasswordAgain", func(t *testing.T) { ldapSaveErrChangedServerNeedsThePasswordAgain(t, e) })
	ldapSaveRefusesInvalid(t, e)
	t.Run("ErrStaleVersion", func(t *testing.T) { ldapSaveErrStaleVersion(t, e) })
	t.Run("OKClearPassword", func(t *testing.T) { ldapSaveOKClearPassword(t, e) })
	t.Run("InsecureWarning", func(t *testing.T) { ldapSaveInsecureWarning(t, e) })
}

// ldapSaveOKPasswordSealedNeverShown is TestLDAPSave/OKPasswordSealedNeverShown.
func ldapSaveOKPasswordSealedNeverShown(t *testing.T, e *testEnv) {
	f := ldapForm("ldaps://dc1.example.com:636", 0)
	f.Set("bind_password", testBindPassword)
	res := e.do(http.MethodPost, "/admin/ldap", f, false)
	if res.Code != http.StatusSeeOther || res.Header().Get("Location") != "/admin/ldap" {
		t.Fatalf("status %d: %s", res.Code, res.Body)
	}
	s := e.ldapSettings()
	if s.Version != 1 || s.URL != "ldaps://dc1.example.com:636" || s.ConnectTimeoutSeconds != 5 || s.UpdatedBy != testAdmin {
		t.Errorf("saved %+v", s)
	}
	if s.BindPasswordEnc == "" || strings.Contains(s.BindPasswordEnc, testBindPassword) {
		t.Fatalf("bind password stored as %q, want it sealed", s.BindPasswordEnc)
	}
	if pw, err := e.box.Open(s.BindPasswordEnc); err != nil || pw != testBindPassword {
		t.Errorf("the sealed password opens to %q, %v", pw, err)
	}
	events := e.audit()
	if events[0].Action != domain.AuditLDAPSave || events[0].Actor != testAdmin || !strings.Contains(events[0].Detail, "bind password changed") {
		t.Errorf("audit %+v", events[0])
	}
	for _, ev := range events {
		if strings.Contains(ev.Detail, testBindPassword) || strings.Contains(ev.Detail, s.BindPasswordEnc) {
			t.Errorf("audit event %s holds the password", ev.Action)
		}
	}
	if got := e.notified.list(); len(got) == 0 || got[len(got)-1] != "settings" {
		t.Errorf("notified %v, want settings", got)
	}
	res = e.do(http.MethodGet, "/admin/ldap", nil, false)
	page := res.Body.String()
	if strings.Contains(page, testBindPassword) || strings.Contains(page, s.BindPasswordEnc) {
		t.Fatal("the page shows the bind password")
	}
	doc := parseHTML(t, res)
	if got := testid(doc, "password-state"); !strings.Contains(got, "A password is set") || !strings.Contains(got, "Leave empty to keep") {
		t.Errorf("password state %q", got)
	}
	if v, _ := doc.Find(`[data-testid="ldap-bind_password"]`).Attr("value"); v != "" {
		t.Errorf("password field holds %q", v)
	}
	if got := testid(doc, "flash"); !strings.HasPrefix(got, "LDAP connection saved.") {
		t.Errorf("flash %q", got)
	}
	if v, _ := doc.Find(`input[name="version"]`).Attr("value"); v != "1" {
		t.Errorf("form version %q", v)
	}
}

// ldapSaveOKEmptyPasswordKeepsIt is TestLDAPSave/OKEmptyPasswordKeepsIt.
func ldapSaveOKEmptyPasswordKeepsIt(t *testing.T, e *testEnv) {
	before := e.ldapSettings()
	f := ldapForm("ldaps://dc1.example.com:636", before.Version)
	f.Set("page_size", "250")
	res := e.do(http.MethodPost, "/admin/ldap", f, false)
	if res.Code != http.StatusSeeOther {
		t.Fatalf("status %d: %s", res.Code, res.Body)
	}
	after := e.ldapSettings()
	if after.PageSize != 250 || after.BindPasswordEnc != before.BindPasswordEnc {
		t.Errorf("page size %d, password kept: %v", after.PageSize, after.BindPasswordEnc == before.BindPasswordEnc)
	}
	if d := e.audit()[0].Detail; strings.Contains(d, "bind password") {
		t.Errorf("audit says the password changed: %q", d)
	}
}

// ldapSaveErrChangedServerNeedsThePasswordAgain is issue 10 item 2: this
// save used to keep the stored password for the new server (and Test
// connection then sent it there).
func ldapSaveErrChangedServerNeedsThePasswordAgain(t *testing.T, e *testEnv) {
	before := e.ldapSettings()
	auditBefore := len(e.audit())
	for name, edit := range map[string]func(url.Values){
		"url":       func(f url.Values) { f.Set("url", "ldaps://dc2.example.com:636") },
		"port":      func(f url.Values) { f.Set("url", "ldaps://dc1.example.com:1636") },
		"plainLDAP": func(f url.Values) { f.Set("url", "ldap://dc1.example.com:636") },
		"bindDN":    func(f url.Values) { f.Set("bind_dn", "cn=root,dc=example,dc=com") },
		"noVerify":  func(f url.Values) { f.Set("insecure_skip_verify", "true") },
	} {
		f := ldapForm("ldaps://dc1.example.com:636", before.Version)
		edit(f)
		res := e.do(http.MethodPost, "/admin/ldap", f, false)
		if res.Code != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status %d, want 422", name, res.Code)
		}
		if msg := testid(parseHTML(t, res), "error-bind_password"); !strings.Contains(msg, "enter the bind password again") {
			t.Errorf("%s: message at the password %q", name, msg)
		}
	}
	if after := e.ldapSettings(); after.Version != before.Version || after.URL != before.URL || after.BindPasswordEnc != before.BindPasswordEnc {
		t.Errorf("settings changed: %+v", after)
	}
	if n := len(e.audit()); n != auditBefore {
		t.Errorf("%d audit events written", n-auditBefore)
	}
}

// ldapSaveRefusesInvalid is TestLDAPSave's refusals: a message at the
// field, the form as typed (but the password), nothing saved.
func ldapSaveRefusesInvalid(t *testing.T, e *testEnv) {
	invalid := []struct {
		name  string
		edit  func(url.Values)
		field string
	}{
		{"ErrURLScheme", func(f url.Values) { f.Set("url", "http://dc1.example.com") }, "url"},
		{"ErrStartTLSOnLDAPS", func(f url.Values) { f.Set("start_tls", "true") }, "start_tls"},
		{"ErrFilterParentheses", func(f url.Values) { f.Set("active_filter", "objectClass=person") }, "active_filter"},
		{"ErrPageSizeNotANumber", func(f url.Values) { f.Set("page_size", "lots") }, "page_size"},
		{"ErrPageSizeTooBig", func(f url.Values) { f.Set("page_size", "100000") }, "page_size"},
		{"ErrNoUsernameAttribute", func(f url.Values) { f.Set("attr_username", "") }, "attr_username"},
		{"ErrCACertNotPEM", func(f url.Values) { f.Set("ca_cert", "not a certificate") }, "ca_cert"},
		{"ErrPercentOver100", func(f url.Values) { f.Set("deactivate_max_percent", "150") }, "deactivate_max_percent"},
		{"ErrNoBaseDN", func(f url.Values) { f.Set("base_dn", "") }, "base_dn"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			before := e.ldapSettings()
			auditBefore := len(e.audit())
			f := ldapForm("ldaps://dc3.example.com:636", before.Version)
			f.Set("bind_password", "Another-Secret-99")
			tc.edit(f)
			res := e.do(http.MethodPost, "/admin/ldap", f, false)
			if res.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", res.Code)
			}
			if strings.Contains(res.Body.String(), "Another-Secret-99") {
				t.Error("the refused form shows the typed password")
			}
			doc := parseHTML(t, res)
			if msg := testid(doc, "error-"+tc.field); msg == "" {
				t.Errorf("no message at %s; errors shown: %q", tc.field, doc.Find(".idm-field-error").Text())
			}
			if v, _ := doc.Find(`[data-testid="ldap-url"]`).Attr("value"); v != f.Get("url") {
				t.Errorf("the form lost the typed URL: %q", v)
			}
			after := e.ldapSettings()
			if after.Version != before.Version || after.URL != before.URL || after.BindPasswordEnc != before.BindPasswordEnc {
				t.Errorf("settings changed: version %d → %d, url %q → %q", before.Version, after.Version, before.URL, after.URL)
			}
			if n := len(e.audit()); n != auditBefore {
				t.Errorf("%d audit events written", n-auditBefore)
			}
		})
	}
}

// ldapSaveErrStaleVersion is TestLDAPSave/ErrStaleVersion.
func ldapSaveErrStaleVersion(t *testing.T, e *testEnv) {
	before := e.ldapSettings()
	res := e.do(http.MethodPost, "/admin/ldap", ldapForm("ldaps://dc1.example.com:636", before.Version-1), false)
	if res.Code != http.StatusConflict {
		t.Fatalf("status %d, want 409", res.Code)
	}
	if msg := testid(parseHTML(t, res), "conflict"); !strings.Contains(msg, "changed by "+testAdmin) {
		t.Errorf("message %q", msg)
	}
	if after := e.ldapSettings(); after.Version != before.Version || after.URL != before.URL {
		t.Errorf("settings changed")
	}
}

// ldapSaveOKClearPassword is TestLDAPSave/OKClearPassword.
func ldapSaveOKClearPassword(t *testing.T, e *testEnv) {
	f := ldapForm("ldaps://dc2.example.com:636", e.ldapSettings().Version)
	f.Set("clear_bind_password", "true")
	if res := e.do(http.MethodPost, "/admin/ldap", f, false); res.Code != http.StatusSeeOther {
		t.Fatalf("status %d", res.Code)
	}
	if s := e.ldapSettings(); s.BindPasswordEnc != "" {
		t.Error("the password is still stored")
	}
	if got := testid(e.get("/admin/ldap"), "password-state"); got != "No password is set." {
		t.Errorf("password state %q", got)
	}
}

// ldapSaveInsecureWarning is TestLDAPSave/InsecureWarning.
func ldapSaveInsecureWarning(t *testing.T, e *testEnv) {
	f := ldapForm("ldaps://dc2.example.com:636", e.ldapSettings().Version)
	f.Set("insecure_skip_verify", "true")
	if res := e.do(http.MethodPost, "/admin/ldap", f, false); res.Code != http.StatusSeeOther {
		t.Fatalf("status %d", res.Code)
	}
	if got := testid(e.get("/admin/ldap"), "insecure-warning"); !strings.Contains(got, "verification is off") {
		t.Errorf("warning %q", got)
	}
}

func TestLDAPPreset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		preset, username, stableID, inactive string
	}{
		{domain.PresetActiveDirectory, "sAMAccountName", "objectGUID", "(userAccountControl:1.2.840.113556.1.4.803:=2)"},
		{domain.PresetOpenLDAP, "uid", "entryUUID", "(pwdAccountLockedTime=*)"},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			f := ldapForm("ldap://dir.example.com", 0)
			f.Set("attr_username", "somethingElse")
			f.Set("apply_preset", tc.preset)
			res := e.do(http.MethodPost, "/admin/ldap/preset", f, false)
			if res.Code != http.StatusOK {
				t.Fatalf("status %d: %s", res.Code, res.Body)
			}
			doc := parseHTML(t, res)
			val := func(id string) string { v, _ := doc.Find(`[data-testid="ldap-` + id + `"]`).Attr("value"); return v }
			if val("attr_username") != tc.username || val("attr_stable_id") != tc.stableID || !strings.Contains(val("inactive_filter"), tc.inactive) {
				t.Errorf("username %q, stable id %q, inactive filter %q", val("attr_username"), val("attr_stable_id"), val("inactive_filter"))
			}
			if val("url") != "ldap://dir.example.com" {
				t.Errorf("the preset lost the typed URL: %q", val("url"))
			}
			if !strings.Contains(testid(doc, "notice"), "Nothing is saved yet") {
				t.Errorf("notice %q", testid(doc, "notice"))
			}
			if expires := strings.Contains(testid(doc, "notice"), "accountExpires"); expires != (tc.preset == domain.PresetActiveDirectory) {
				t.Errorf("notice %q: want the accountExpires rule said for Active Directory only", testid(doc, "notice"))
			}
			if s := e.ldapSettings(); s.Version != 0 {
				t.Error("applying a preset saved the settings")
			}
		})
	}
}

func TestLDAPThresholdOverride(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	t.Run("ErrNotConfigured", func(t *testing.T) {
		res := e.do(http.MethodPost, "/admin/ldap/override", url.Values{"allow": {"true"}}, false)
		if res.Code != http.StatusUnprocessableEntity {
			t.Errorf("status %d, want 422", res.Code)
		}
	})
	if res := e.do(http.MethodPost, "/admin/ldap", ldapForm("ldap://dir.example.com", 0), false); res.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", res.Code)
	}
	t.Run("Armed", func(t *testing.T) {
		if res := e.do(http.MethodPost, "/admin/ldap/override", url.Values{"allow": {"true"}}, false); res.Code != http.StatusSeeOther {
			t.Fatalf("status %d", res.Code)
		}
		if !e.ldapSettings().AllowNextPastThreshold {
			t.Error("not stored")
		}
		if ev := e.audit()[0]; ev.Action != domain.AuditThresholdOverride || ev.Actor != testAdmin {
			t.Errorf("audit %+v", ev)
		}
		doc := e.get("/admin/ldap")
		if !strings.Contains(testid(doc, "override-armed"), "Armed") {
			t.Errorf("page does not show it armed: %q", testid(doc, "threshold-override"))
		}
	})
	t.Run("SaveKeepsItArmed", func(t *testing.T) {
		if res := e.do(http.MethodPost, "/admin/ldap", ldapForm("ldap://dir2.example.com", e.ldapSettings().Version), false); res.Code != http.StatusSeeOther {
			t.Fatalf("save: %d", res.Code)
		}
		if !e.ldapSettings().AllowNextPastThreshold {
			t.Error("saving the form withdrew the permission")
		}
	})
	t.Run("Withdrawn", func(t *testing.T) {
		if res := e.do(http.MethodPost, "/admin/ldap/override", url.Values{"allow": {"false"}}, false); res.Code != http.StatusSeeOther {
			t.Fatalf("status %d", res.Code)
		}
		if e.ldapSettings().AllowNextPastThreshold {
			t.Error("still armed")
		}
		if e.get("/admin/ldap").Find(`[data-testid="override-off"]`).Length() != 1 {
			t.Error("page does not show it off")
		}
	})
}
