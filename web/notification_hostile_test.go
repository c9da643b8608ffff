package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/testenv"
)

func webhookHostileValues() []hostile {
	hs := append(hostileText("name", strings.Repeat("n", 129)), hostileText("url", "https://h.example.com/"+strings.Repeat("p", 2048))...)
	hs = append(hs, hostileText("secret", strings.Repeat("s", 257))...)
	hs = append(hs, hostileFlag("enabled")...)
	return append(hs,
		hostile{"event", "Unknown", "everything"}, hostile{"event", "NUL", "run_failed\x00"},
		hostile{"url", "Markup", "<script>alert(1)</script>"},
		hostile{"url", "Userinfo", "https://admin:hunter2@h.example.com/"}, hostile{"url", "Javascript", "javascript:alert(1)"},
		hostile{"url", "HeaderInjection", "https://h.example.com/\r\nX-Evil: 1"}, hostile{"secret", "Short", "tooshort"},
	)
}

// TestWebhookFormsRefuseHostileValues: every field of the webhook forms,
// new and saved, sent with a NUL byte, as invalid UTF-8, overlong or
// otherwise wrong, answers 422 with the message at the field and changes
// nothing, on both databases.
func TestWebhookFormsRefuseHostileValues(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL})
		saved := e.createWebhook(t, webhookForm(nil))
		auditBefore := len(e.audit())
		for _, path := range []string{"/admin/notifications", "/admin/notifications/" + saved.ID} {
			for _, h := range webhookHostileValues() {
				t.Run(path+"/"+h.field+"/"+h.name, func(t *testing.T) {
					f := webhookForm(nil)
					f.Set(h.field, h.value)
					res := e.do(http.MethodPost, path, f, false)
					if res.Code != http.StatusUnprocessableEntity {
						t.Fatalf("status %d, want 422", res.Code)
					}
					field := h.field
					if field == "event" {
						field = "events"
					}
					if testid(parseHTML(t, res), "error-"+field) == "" {
						t.Errorf("no message at %s", field)
					}
					if body := res.Body.String(); strings.Contains(body, "<script>alert") || strings.Contains(body, "hunter2") || strings.Contains(body, typedSecret) {
						t.Error("the refused form echoes markup, a password or the secret")
					}
					assertWebhooksUnchanged(t, e, saved, auditBefore)
				})
			}
		}
	})
}

func assertWebhooksUnchanged(t *testing.T, e *testEnv, saved *domain.Webhook, auditBefore int) {
	t.Helper()
	hooks, err := e.db.ListWebhooks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 || hooks[0].UpdatedAt != saved.UpdatedAt || hooks[0].SecretEnc != saved.SecretEnc || hooks[0].URL != saved.URL {
		t.Errorf("webhooks changed: %+v", hooks)
	}
	if n := len(e.audit()); n != auditBefore {
		t.Errorf("%d audit events written", n-auditBefore)
	}
}
