package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"idm/internal/cli"
	"idm/internal/notify"
)

var metricsLine = regexp.MustCompile(`Metrics for Prometheus: (http://127\.0\.0\.1:\d+/metrics)`)

// serveUntilDone starts serve with args and stops it when the test ends;
// it returns the base URL and what serve printed so far.
func serveUntilDone(t *testing.T, p *program, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	base, done, out := startServeOutput(t, ctx, p, args...)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve ended with %v", err)
		}
	})
	return base, out.String()
}

func get(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, res.StatusCode, b)
	}
	return string(b)
}

// TestServeMetrics: --metrics-listen serves /metrics on its own address
// and serve prints it; without it there is no metrics address (demo mode's
// default: TestDemoMetricsAddress).
func TestServeMetrics(t *testing.T) {
	t.Run("Flag", func(t *testing.T) {
		_, out := serveUntilDone(t, newProgram(t, ""), "--metrics-listen", "127.0.0.1:0")
		m := metricsLine.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("serve printed no metrics address:\n%s", out)
		}
		body := get(t, m[1])
		for _, want := range []string{`idm_job_runs_total{job="active",status="succeeded",trigger="schedule"} 0`, `idm_users{state="active"} 0`, `idm_database_up 1`, `go_sql_open_connections{db_name="idm_write"}`} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
	t.Run("OffByDefault", func(t *testing.T) {
		if _, out := serveUntilDone(t, newProgram(t, "")); strings.Contains(out, "Metrics") {
			t.Errorf("serve without --metrics-listen printed a metrics address:\n%s", out)
		}
	})
	t.Run("ErrBadAddresses", func(t *testing.T) {
		p := newProgram(t, "")
		for _, tc := range []struct{ flag, value, want string }{
			{"--public-url", "ftp://idm.example.com", "must start with https:// or http://"},
			{"--public-url", "https://idm.example.com/?x=1", "must not have a query"},
			{"--metrics-listen", "9464", "metrics listen address"},
		} {
			var out, errOut bytes.Buffer
			err := cli.Run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", tc.flag, tc.value}, p.io("", &out, &errOut))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve %s %s: %v, want a refusal saying %q", tc.flag, tc.value, err, tc.want)
			}
		}
	})
}

// TestServeWebhook: a webhook saved on the Admin page is told, signed,
// when a Run now fails, with a link to the run on the listen address.
func TestServeWebhook(t *testing.T) {
	p := newProgram(t, "")
	p.run(t, e2ePassword+"\n", "account", "create", "--role", "administrator", "alice")
	got := make(chan notify.Payload, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body notify.Payload
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Header.Get(notify.HeaderSignature) == "" {
			t.Errorf("notice: %v, signature %q", err, r.Header.Get(notify.HeaderSignature))
		}
		got <- body
	}))
	defer rc.Close()
	base, _ := serveUntilDone(t, p)
	c := signedIn(t, base, "alice")
	c.post(t, "/admin/notifications", url.Values{"name": {"ops"}, "url": {rc.URL}, "secret": {"a secret of some length"},
		"event": {"run_failed"}, "enabled": {"true"}})
	// No LDAP connection is configured: the run fails at once.
	c.post(t, "/operator/jobs/active/run", nil)
	select {
	case n := <-got:
		if n.Status != "failed" || n.Job != "active" || !strings.HasPrefix(n.RunURL, base+"/operator/runs/") || n.TriggeredBy != "alice" {
			t.Errorf("notice %+v", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no notice within 20s of the failed run")
	}
}

// formClient is a signed-in browser-like client of a served program.
type formClient struct {
	*http.Client
	base string
}

func signedIn(t *testing.T, base, name string) *formClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &formClient{base: base, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.post(t, "/login", url.Values{"username": {name}, "password": {e2ePassword}})
	return c
}

// post sends a same-origin form post and expects the 303 of a success.
func (c *formClient) post(t *testing.T, path string, form url.Values) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("POST %s: %d\n%s", path, res.StatusCode, b)
	}
}
