package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"idm/internal/auth"
	"idm/internal/cli"
	"idm/internal/domain"
	"idm/internal/store"
)

// The page the operators watch while a job runs.
const (
	jobsPage     = "/operator/jobs"
	fallbackPage = "/operator"
)

// latencyResult is how the Operator page answered while the run went on.
type latencyResult struct {
	Page    string `json:"page"`
	Clients int    `json:"clients"`
	// ThinkMillis is each client's pause between requests (0: back to back).
	ThinkMillis float64 `json:"think_ms"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	P50Millis   float64 `json:"p50_ms"`
	P90Millis   float64 `json:"p90_ms"`
	P99Millis   float64 `json:"p99_ms"`
	MaxMillis   float64 `json:"max_ms"`
	// RunSeconds is the run's own duration (from its record).
	RunSeconds float64 `json:"run_seconds"`
	RunStatus  string  `json:"run_status"`
	FirstError string  `json:"first_error,omitempty"`
}

// measureLatency boots the whole program (cli.Run serve, as a person runs
// it) on the store at dbURL, signs clients operators in, starts the active
// job with the Operator's Run now, and has clients fetch the Batch jobs page
// in a loop until the run ends. The run is the server's own, in this
// process, so the page and the run share CPU, memory and database.
func measureLatency(ctx context.Context, db *store.DB, dbURL string, clients int, think time.Duration, res *phaseResult) error {
	const operator, password = "bench-operator", "bench-operator-password-1"
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := db.CreateAccount(ctx, operator, domain.RoleOperator, hash, "idm-bench"); err != nil {
		return err
	}
	srv, err := startServe(ctx, dbURL)
	if err != nil {
		return err
	}
	defer srv.close()
	cs := make([]*http.Client, clients)
	for i := range cs {
		if cs[i], err = signIn(srv.base, operator, password); err != nil {
			return err
		}
	}
	page, err := operatorPage(cs[0], srv.base)
	if err != nil {
		return err
	}
	if err := runNow(cs[0], srv.base); err != nil {
		return err
	}
	done := make(chan struct{})
	polled := pollPages(cs, srv.base+page, think, done)
	run, err := waitRun(ctx, db)
	close(done)
	p := <-polled
	if err != nil {
		return err
	}
	if err := srv.stop(); err != nil {
		return err
	}
	lr := p.result(page, clients, think)
	lr.RunStatus = string(run.Status)
	if run.FinishedAt != nil {
		lr.RunSeconds = run.FinishedAt.Sub(run.StartedAt).Seconds()
	}
	res.Latency = lr
	res.WallSeconds, res.Entries, res.Status, res.Message, res.Counts = lr.RunSeconds, run.Read, string(run.Status), run.Message, &run.RunCounts
	return nil
}

// served is the program serving in this process for the latency phase.
type served struct {
	base    string
	dataDir string
	cancel  context.CancelFunc
	ended   chan error
	// stopOnce ends the server once; err is how it ended.
	stopOnce sync.Once
	err      error
}

// startServe runs `idm serve` on the store at dbURL on a free port and
// waits until it listens.
func startServe(ctx context.Context, dbURL string) (*served, error) {
	dataDir, err := os.MkdirTemp("", "idm-bench-serve-")
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"IDM_DATABASE_URL": dbURL, "IDM_SECRET_KEY": os.Getenv(envKey), "IDM_LISTEN": "127.0.0.1:0",
		"IDM_DATA_DIR": dataDir, "IDM_LOG_LEVEL": "error", "IDM_INSTANCE": "idm-bench-serve",
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &served{dataDir: dataDir, cancel: cancel, ended: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		s.ended <- cli.Run(sctx, []string{"serve"}, cli.IO{
			Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""),
			Stdout: io.Discard, Stderr: io.Discard, Ready: func(addr string) { ready <- addr },
		})
	}()
	select {
	case addr := <-ready:
		s.base = "http://" + addr
		return s, nil
	case <-time.After(60 * time.Second):
		s.close()
		return nil, errors.New("latency: serve not listening after 60s")
	case err := <-s.ended:
		s.stopOnce.Do(cancel) // it ended on its own: nothing left to stop
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("latency: serve stopped at start: %w", err)
	}
}

// stop ends the server and reports how it ended.
func (s *served) stop() error {
	s.stopOnce.Do(func() {
		s.cancel()
		if err := <-s.ended; err != nil {
			s.err = fmt.Errorf("latency: serve: %w", err)
		}
	})
	return s.err
}

// close ends the server if it still runs and removes its data directory.
func (s *served) close() {
	_ = s.stop()
	os.RemoveAll(s.dataDir)
}

// operatorPage is the Batch jobs page, or the Operator's home where a
// build has no such page.
func operatorPage(c *http.Client, base string) (string, error) {
	code, _, err := fetch(c, base+jobsPage)
	switch {
	case err != nil:
		return "", err
	case code == http.StatusNotFound:
		return fallbackPage, nil
	case code != http.StatusOK:
		return "", fmt.Errorf("latency: GET %s answered %d", jobsPage, code)
	}
	return jobsPage, nil
}

// runNow starts the active job as the operator's Run now does.
func runNow(c *http.Client, base string) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/operator/jobs/active/run", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("latency: run now: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("latency: run now answered %d: %.300s", resp.StatusCode, body)
	}
	return nil
}

// polls is what the page clients saw.
type polls struct {
	lat      []time.Duration
	errs     int
	firstErr string
}

// pollPages has each client fetch url in a loop, pausing think between
// requests, until done is closed; the channel then yields what they saw.
func pollPages(cs []*http.Client, url string, think time.Duration, done <-chan struct{}) <-chan polls {
	var mu sync.Mutex
	var p polls
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Operators do not poll in step: spread the clients over one
			// pause. An open page polls (hx-trigger every 1s): each waits
			// think before a request, but stops waiting when the run ends.
			wait := think * time.Duration(i) / time.Duration(len(cs))
			for {
				if !pause(wait, done) {
					return
				}
				wait = think
				code, d, err := fetch(c, url)
				mu.Lock()
				if err != nil || code != http.StatusOK {
					p.errs++
					if p.firstErr == "" {
						p.firstErr = fmt.Sprintf("status %d, %v", code, err)
					}
				} else {
					p.lat = append(p.lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	out := make(chan polls, 1)
	go func() {
		wg.Wait()
		out <- p
	}()
	return out
}

// pause waits d, or not at all when d is 0 (clients back to back). It
// reports false when done closed first.
func pause(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	select {
	case <-done:
		return false
	case <-time.After(d):
		return true
	}
}

// result is the latency summary of what clients clients saw of page.
func (p polls) result(page string, clients int, think time.Duration) *latencyResult {
	slices.Sort(p.lat)
	pct := func(q float64) float64 {
		if len(p.lat) == 0 {
			return 0
		}
		return float64(p.lat[int(float64(len(p.lat)-1)*q)].Microseconds()) / 1000
	}
	return &latencyResult{
		Page: page, Clients: clients, ThinkMillis: float64(think.Milliseconds()), Requests: len(p.lat) + p.errs, Errors: p.errs,
		P50Millis: pct(0.50), P90Millis: pct(0.90), P99Millis: pct(0.99), MaxMillis: pct(1), FirstError: p.firstErr,
	}
}

// waitRun waits for the active run started by Run now to end.
func waitRun(ctx context.Context, db *store.DB) (*domain.Run, error) {
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		r, err := db.LastRun(ctx, domain.JobActive)
		if err != nil {
			return nil, err
		}
		if r != nil && r.Status != domain.RunRunning {
			return r, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, errors.New("latency: the run did not end within 30 minutes")
}

// signIn signs an operator in through the login form and returns a client
// holding the session cookie.
func signIn(base, name, password string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 2},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	form := url.Values{"username": {name}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("latency: sign in: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("latency: sign in answered %d, want 303", resp.StatusCode)
	}
	return c, nil
}

// fetch GETs url and reads the whole body; the duration is to the last byte.
func fetch(c *http.Client, url string) (int, time.Duration, error) {
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return 0, 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), err
}
