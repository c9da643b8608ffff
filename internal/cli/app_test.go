package cli_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"idm/internal/cli"
	"idm/internal/domain"
	"idm/internal/testenv"
)

// TestServeShutdownAbortsRunNow: at shutdown, a Run now still going after
// --shutdown-grace is cancelled and recorded as aborted before serve
// returns: the engine stops before the store closes.
func TestServeShutdownAbortsRunNow(t *testing.T) {
	// A directory that accepts the connection and never answers: the run
	// waits in its bind until it is cancelled.
	blackhole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer blackhole.Close()
	p := newProgram(t, "")
	p.run(t, e2ePassword+"\n", "account", "create", "--role", "operator", "olga")
	p.run(t, "", "ldap", "configure", "--preset", "openldap", "--url", "ldap://"+blackhole.Addr().String(),
		"--base-dn", "dc=example,dc=com", "--connect-timeout", "60", "--search-timeout", "120")

	const grace = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServe(t, ctx, p, "--shutdown-grace", grace.String())
	runNow(t, base, "olga", "active")

	stopAt := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of the signal")
	}
	if took := time.Since(stopAt); took < grace {
		t.Errorf("serve stopped %v after the signal, before the %v grace period", took, grace)
	}
	db := testenv.MustOpenDB(t, p.dbURL)
	last, err := db.LastRun(context.Background(), domain.JobActive)
	if err != nil || last == nil || last.Status != domain.RunAborted || last.TriggeredBy != "olga" || last.FinishedAt == nil {
		t.Fatalf("the run after shutdown: %+v, %v; want olga's run recorded as aborted", last, err)
	}
}

// startServe starts `idm serve` on port 0 until ctx ends; it returns the
// base URL and where serve's error arrives.
func startServe(t *testing.T, ctx context.Context, p *program, args ...string) (string, <-chan error) {
	t.Helper()
	base, done, _ := startServeOutput(t, ctx, p, args...)
	return base, done
}

// startServeOutput is startServe that also returns what serve prints.
func startServeOutput(t *testing.T, ctx context.Context, p *program, args ...string) (string, <-chan error, *syncBuffer) {
	t.Helper()
	var out, errOut syncBuffer
	io := p.io("", &out.b, &errOut.b)
	io.Stdout, io.Stderr = &out, &errOut
	base, done := startServeIO(t, ctx, io, &errOut, args...)
	return base, done, &out
}

// startServeIO starts `idm serve` on port 0 with io until ctx ends; log is
// what it wrote, for the message when it does not listen.
func startServeIO(t *testing.T, ctx context.Context, io cli.IO, log fmt.Stringer, args ...string) (string, <-chan error) {
	t.Helper()
	ready := make(chan string, 1)
	io.Ready = func(addr string) { ready <- addr }
	done := make(chan error, 1)
	go func() { done <- cli.Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), io) }()
	select {
	case addr := <-ready:
		return "http://" + addr, done
	case err := <-done:
		t.Fatalf("serve stopped before listening: %v\n%s", err, log)
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not listen within 60s\n%s", log)
	}
	return "", nil
}

// runNow signs in as name and clicks Run now on job.
func runNow(t *testing.T, base, name, job string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, step := range []struct {
		path string
		form url.Values
	}{
		{"/login", url.Values{"username": {name}, "password": {e2ePassword}}},
		{"/operator/jobs/" + job + "/run", nil},
	} {
		req, _ := http.NewRequest(http.MethodPost, base+step.path, strings.NewReader(step.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d, want 303", step.path, res.StatusCode)
		}
	}
}
