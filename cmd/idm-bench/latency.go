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
	dataDir, err := os.MkdirTemp("", "idm-bench-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	env := map[string]string{
		"IDM_DATABASE_URL": dbURL, "IDM_SECRET_KEY": os.Getenv(envKey), "IDM_LISTEN": "127.0.0.1:0",
		"IDM_DATA_DIR": dataDir, "IDM_LOG_LEVEL": "error", "IDM_INSTANCE": "idm-bench-serve",
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- cli.Run(sctx, []string{"serve"}, cli.IO{
			Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""),
			Stdout: io.Discard, Stderr: io.Discard, Ready: func(addr string) { ready <- addr },
		})
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-served:
		return fmt.Errorf("latency: serve stopped at start: %w", err)
	case <-time.After(60 * time.Second):
		return errors.New("latency: serve not listening after 60s")
	}

	cs := make([]*http.Client, clients)
	for i := range cs {
		if cs[i], err = signIn(base, operator, password); err != nil {
			return err
		}
	}
	page := jobsPage
	if code, _, err := fetch(cs[0], base+jobsPage); err != nil {
		return err
	} else if code == http.StatusNotFound {
		page = fallbackPage
	} else if code != http.StatusOK {
		return fmt.Errorf("latency: GET %s answered %d", jobsPage, code)
	}

	// Run now, as the operator starts it.
	req, _ := http.NewRequest(http.MethodPost, base+"/operator/jobs/active/run", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := cs[0].Do(req)
	if err != nil {
		return fmt.Errorf("latency: run now: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("latency: run now answered %d: %.300s", resp.StatusCode, body)
	}

	done := make(chan struct{})
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var firstErr string
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Operators do not poll in step: spread the clients over one pause.
			if think > 0 {
				select {
				case <-done:
					return
				case <-time.After(think * time.Duration(i) / time.Duration(len(cs))):
				}
			}
			for {
				select {
				case <-done:
					return
				default:
				}
				if think > 0 {
					// An operator's page polls (hx-trigger every 1s): wait, but
					// stop waiting when the run ends.
					select {
					case <-done:
						return
					case <-time.After(think):
					}
				}
				code, d, err := fetch(c, base+page)
				mu.Lock()
				if err != nil || code != http.StatusOK {
					errs++
					if firstErr == "" {
						firstErr = fmt.Sprintf("status %d, %v", code, err)
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	run, err := waitRun(ctx, db)
	close(done)
	wg.Wait()
	if err != nil {
		return err
	}
	stop()
	if err := <-served; err != nil {
		return fmt.Errorf("latency: serve: %w", err)
	}

	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(float64(len(lat)-1) * p)
		return float64(lat[i].Microseconds()) / 1000
	}
	lr := &latencyResult{
		Page: page, Clients: clients, ThinkMillis: float64(think.Milliseconds()), Requests: len(lat) + errs, Errors: errs,
		P50Millis: pct(0.50), P90Millis: pct(0.90), P99Millis: pct(0.99), MaxMillis: pct(1),
		RunStatus: string(run.Status), FirstError: firstErr,
	}
	if run.FinishedAt != nil {
		lr.RunSeconds = run.FinishedAt.Sub(run.StartedAt).Seconds()
	}
	res.Latency = lr
	res.WallSeconds, res.Entries, res.Status, res.Message, res.Counts = lr.RunSeconds, run.Read, string(run.Status), run.Message, &run.RunCounts
	return nil
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
