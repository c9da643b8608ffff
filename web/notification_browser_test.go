package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"idm/internal/notify"
)

// TestNotificationsInBrowser: an administrator goes Home > Notifications in
// Chromium, makes a mistake in the URL and sees it at the field, creates a
// webhook to a real receiver, and sends a test notice that arrives signed;
// the delivery log shows its status code.
func TestNotificationsInBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	signed := make(chan string, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signed <- r.Header.Get(notify.HeaderSignature)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rc.Close)
	b := newBrowserTab(t, e)
	b.signIn(testAdmin)
	b.run("open Notifications",
		chromedp.Click(chromedp.CSS(`[data-testid="tile-notifications"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="webhook-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="webhook-name"]`), "On call"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="webhook-url"]`), "https://ops:pw@hooks.example.com/"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="webhook-secret"]`), typedSecret),
		chromedp.Click(chromedp.CSS(`[data-testid="webhook-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-url"]`)))
	if msg := b.text(`[data-testid="error-url"]`); !strings.Contains(msg, "user name or password") {
		t.Errorf("message at the URL: %q", msg)
	}
	b.run("create the webhook",
		chromedp.SetValue(chromedp.CSS(`[data-testid="webhook-url"]`), rc.URL+"/idm"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="webhook-secret"]`), typedSecret),
		chromedp.Click(chromedp.CSS(`[data-testid="webhook-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="webhook-send-test"]`)))
	b.run("send a test notice",
		chromedp.Click(chromedp.CSS(`[data-testid="webhook-send-test"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="delivery-status"]`)))
	if sig := <-signed; !strings.HasPrefix(sig, "sha256=") {
		t.Errorf("signature %q", sig)
	}
	if flash := b.text(`[data-testid="flash"]`); flash != "Test notice delivered: the receiver answered HTTP 202." {
		t.Errorf("flash %q", flash)
	}
	if status := b.text(`[data-testid="delivery-status"]`); status != "202" {
		t.Errorf("delivery log status %q, want 202", status)
	}
}
