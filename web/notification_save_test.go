package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/testenv"
)

const typedSecret = "the receiver's shared secret"

// webhookForm is the new-webhook form with events, overridden by change.
func webhookForm(change url.Values) url.Values {
	f := url.Values{"name": {"On call"}, "url": {"https://hooks.example.com/idm"}, "secret": {typedSecret},
		"event": {domain.EventRunFailed, domain.EventSafetyStop}, "enabled": {"true"}}
	for k, v := range change {
		f[k] = v
	}
	return f
}

// createWebhook creates a webhook through the form and returns it.
func (e *testEnv) createWebhook(t *testing.T, form url.Values) *domain.Webhook {
	t.Helper()
	res := e.do(http.MethodPost, "/admin/notifications", form, false)
	if res.Code != http.StatusSeeOther {
		t.Fatalf("create webhook: %d\n%s", res.Code, res.Body)
	}
	id := strings.TrimPrefix(res.Header().Get("Location"), "/admin/notifications/")
	w, err := e.db.GetWebhook(context.Background(), id)
	if err != nil {
		t.Fatalf("created webhook %q: %v", id, err)
	}
	return w
}

// TestNotificationCreate: a webhook is created with its secret sealed,
// never rendered back; bad input gets a message at its field and creates
// nothing.
func TestNotificationCreate(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL})
		w := e.createWebhook(t, webhookForm(nil))
		if w.Name != "On call" || w.URL != "https://hooks.example.com/idm" || !w.OnRunFailed || !w.OnSafetyStop || w.OnSucceeded || !w.Enabled {
			t.Errorf("stored %+v", w)
		}
		if plain, err := e.box.Open(w.SecretEnc); err != nil || plain != typedSecret || strings.Contains(w.SecretEnc, typedSecret) {
			t.Errorf("secret stored as %q (opens to %q, %v), want it sealed", w.SecretEnc, plain, err)
		}
		for _, page := range []string{"/admin/notifications", "/admin/notifications/" + w.ID} {
			body := e.do(http.MethodGet, page, nil, false).Body.String()
			if strings.Contains(body, typedSecret) || strings.Contains(body, w.SecretEnc) {
				t.Errorf("%s renders the secret", page)
			}
		}
		if doc := e.get("/admin/notifications/" + w.ID); !strings.Contains(testid(doc, "secret-state"), "A secret is set") {
			t.Errorf("secret state %q", testid(doc, "secret-state"))
		}
		marked := e.createWebhook(t, webhookForm(url.Values{"name": {"<script>alert(1)</script>"}}))
		if body := e.do(http.MethodGet, "/admin/notifications/"+marked.ID, nil, false).Body.String(); strings.Contains(body, "<script>alert") {
			t.Error("a name with markup is rendered as markup")
		}
		for _, ev := range e.audit() {
			if strings.Contains(ev.Detail, typedSecret) || strings.Contains(ev.Detail, w.SecretEnc) {
				t.Errorf("audit %s carries the secret: %s", ev.Action, ev.Detail)
			}
		}
	})
	t.Run("Errors", testNotificationCreateErrors)
}

func testNotificationCreateErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		name   string
		change url.Values
		fields []string
	}{
		{"ErrUserinfo", url.Values{"url": {"https://user:pw@hooks.example.com/"}}, []string{"url"}},
		{"ErrScheme", url.Values{"url": {"file:///etc/passwd"}}, []string{"url"}},
		{"ErrNoSecret", url.Values{"secret": {""}}, []string{"secret"}},
		{"ErrShortSecret", url.Values{"secret": {"short"}}, []string{"secret"}},
		{"ErrNoEvent", url.Values{"event": nil}, []string{"events"}},
		{"ErrUnknownEvent", url.Values{"event": {"everything"}}, []string{"events"}},
		{"ErrBadName", url.Values{"name": {"\xff\xfe"}}, []string{"name"}},
		{"ErrEverything", url.Values{"name": {""}, "url": {"https://h/\x00"}, "secret": {"x"}, "event": nil}, []string{"name", "url", "secret", "events"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(http.MethodPost, "/admin/notifications", webhookForm(tc.change), false)
			if res.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422\n%s", res.Code, res.Body)
			}
			doc := parseHTML(t, res)
			for _, f := range tc.fields {
				if testid(doc, "error-"+f) == "" {
					t.Errorf("no message at %s", f)
				}
			}
			if n := doc.Find(`[data-testid^="error-"]`).Length(); n != len(tc.fields) {
				t.Errorf("%d field messages, want %d", n, len(tc.fields))
			}
			if strings.Contains(res.Body.String(), typedSecret) {
				t.Error("the refused form renders the typed secret back")
			}
			if hooks, _ := e.db.ListWebhooks(context.Background()); len(hooks) != 0 {
				t.Errorf("created %+v", hooks)
			}
		})
	}
}

// TestNotificationSave: an empty secret keeps the stored one, a new one
// replaces it (audited as changed, never shown), disabling drops what
// waited; bad ids are 404s, bad input 422s.
func TestNotificationSave(t *testing.T) {
	e := newEnv(t, envOptions{})
	w := e.createWebhook(t, webhookForm(nil))
	path := "/admin/notifications/" + w.ID

	res := e.do(http.MethodPost, path, webhookForm(url.Values{"secret": {""}, "name": {"Renamed"}, "event": {domain.EventSucceeded}}), false)
	if res.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.Code, res.Body)
	}
	kept, _ := e.db.GetWebhook(context.Background(), w.ID)
	if kept.SecretEnc != w.SecretEnc || kept.Name != "Renamed" || !kept.OnSucceeded || kept.OnRunFailed {
		t.Errorf("saved %+v", kept)
	}
	res = e.do(http.MethodPost, path, webhookForm(url.Values{"secret": {"another secret, long enough"}, "enabled": nil}), false)
	if res.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.Code, res.Body)
	}
	changed, _ := e.db.GetWebhook(context.Background(), w.ID)
	if plain, _ := e.box.Open(changed.SecretEnc); plain != "another secret, long enough" || changed.Enabled {
		t.Errorf("saved %+v with secret %q", changed, plain)
	}
	if ev := e.audit()[0]; ev.Action != domain.AuditWebhookSave || !strings.Contains(ev.Detail, "signing secret changed") || strings.Contains(ev.Detail, "another secret") {
		t.Errorf("audit %+v", ev)
	}
	res = e.do(http.MethodPost, path, webhookForm(url.Values{"url": {"gopher://x"}}), false)
	if res.Code != http.StatusUnprocessableEntity || testid(parseHTML(t, res), "error-url") == "" {
		t.Errorf("bad URL: %d", res.Code)
	}
	for _, p := range []string{"/admin/notifications/nosuch", "/admin/notifications/nosuch/test", "/admin/notifications/nosuch/delete"} {
		if res := e.do(http.MethodPost, p, webhookForm(nil), false); res.Code != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", p, res.Code)
		}
	}
	if res := e.do(http.MethodGet, "/admin/notifications/nosuch", nil, false); res.Code != http.StatusNotFound {
		t.Errorf("GET an unknown webhook: %d, want 404", res.Code)
	}
}

// TestNotificationDelete: Delete removes the webhook and says so.
func TestNotificationDelete(t *testing.T) {
	e := newEnv(t, envOptions{})
	w := e.createWebhook(t, webhookForm(nil))
	if res := e.do(http.MethodPost, "/admin/notifications/"+w.ID+"/delete", nil, false); res.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.Code)
	}
	if _, err := e.db.GetWebhook(context.Background(), w.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("after delete: %v", err)
	}
	if ev := e.audit()[0]; ev.Action != domain.AuditWebhookDelete {
		t.Errorf("audit %+v", ev)
	}
}

// TestNotificationsAdminOnly: operators reach no Notifications page, and
// a cross-site post changes nothing.
func TestNotificationsAdminOnly(t *testing.T) {
	e := newEnv(t, envOptions{accounts: append([]account{{testAdmin, domain.RoleAdministrator}}, opAccounts...)})
	w := e.createWebhook(t, webhookForm(nil))
	olga := e.signIn(t, "olga")
	for _, p := range []string{"/admin/notifications", "/admin/notifications/" + w.ID} {
		if res, _ := olga.get(t, p); res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as an operator: %d, want 403", p, res.StatusCode)
		}
	}
	for _, p := range []string{"/admin/notifications", "/admin/notifications/" + w.ID, "/admin/notifications/" + w.ID + "/test", "/admin/notifications/" + w.ID + "/delete"} {
		if res := olga.post(t, p, webhookForm(nil), nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s as an operator: %d, want 403", p, res.StatusCode)
		}
		req := httptestPost(p, webhookForm(url.Values{"name": {"Mallory"}}))
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.AddCookie(e.cookie)
		if res := serve(e.h, req); res.Code != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", p, res.Code)
		}
	}
	if hooks, _ := e.db.ListWebhooks(context.Background()); len(hooks) != 1 || hooks[0].Name != "On call" {
		t.Errorf("webhooks after refused posts: %+v", hooks)
	}
}
