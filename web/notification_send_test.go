package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"idm/internal/notify"
	"idm/internal/testenv"
)

// TestNotificationSendTest: Send test posts a signed notice to a real
// receiver at once; the flash says how it answered and the page's log
// shows the status code.
func TestNotificationSendTest(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL})
		statuses := []int{http.StatusNoContent, http.StatusInternalServerError}
		got := make(chan *http.Request, 2)
		bodies := make(chan []byte, 2)
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- r
			bodies <- b
			w.WriteHeader(statuses[0])
			statuses = statuses[1:]
		}))
		t.Cleanup(rc.Close)
		hook := e.createWebhook(t, webhookForm(url.Values{"url": {rc.URL + "/hook?team=ops"}}))
		path := "/admin/notifications/" + hook.ID

		c := e.signIn(t, testAdmin)
		if res := c.post(t, path+"/test", nil, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("send test: %d", res.StatusCode)
		}
		req, body := <-got, <-bodies
		mac := hmac.New(sha256.New, []byte(typedSecret))
		mac.Write([]byte(req.Header.Get(notify.HeaderTimestamp) + "." + string(body)))
		if sig := req.Header.Get(notify.HeaderSignature); sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("signature %q does not verify", sig)
		}
		if req.URL.Path != "/hook" || req.URL.RawQuery != "team=ops" || req.Header.Get(notify.HeaderEvent) != "test" {
			t.Errorf("posted to %s, event %q", req.URL, req.Header.Get(notify.HeaderEvent))
		}
		_, page := c.get(t, path)
		if !strings.Contains(page, "Test notice delivered: the receiver answered HTTP 204.") {
			t.Errorf("no flash for the delivered test:\n%s", page)
		}

		if res := c.post(t, path+"/test", nil, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("send test: %d", res.StatusCode)
		}
		<-got
		<-bodies
		_, page = c.get(t, path)
		if !strings.Contains(page, "Test notice not delivered: the receiver answered 500 Internal Server Error.") {
			t.Errorf("no flash for the failed test:\n%s", page)
		}
		doc := e.get(path)
		var codes []string
		doc.Find(`[data-testid="delivery-status"]`).Each(func(_ int, s *goquery.Selection) { codes = append(codes, s.Text()) })
		if strings.Join(codes, ",") != "500,204" {
			t.Errorf("delivery log status codes %v, want 500,204 (newest first)", codes)
		}
	})
}
