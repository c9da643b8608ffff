package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/testenv"
	"idm/web/api"
)

// The faults of this file cannot be had from the real parts on demand (a
// database that fails one query, an engine that panics), so stand-ins play
// them; everything else about the API is tested on the real parts in web.

const secretDetail = "pq: password authentication failed for user idm at 10.0.0.7"

// faultyStore fails every read with an error that must stay in the log.
type faultyStore struct{ api.Store }

func (faultyStore) ListJobs(context.Context) ([]domain.Job, error) {
	return nil, errors.New(secretDetail)
}

// anyToken lets every token through as an administrator's.
type anyToken struct{ err error }

func (a anyToken) Authenticate(context.Context, string) (*domain.APIToken, *domain.Account, error) {
	return &domain.APIToken{Name: "t"}, &domain.Account{Username: "adam", Role: domain.RoleAdministrator}, a.err
}

// panickingEngine panics when asked to start a run.
type panickingEngine struct{ api.JobEngine }

func (panickingEngine) Start(context.Context, domain.JobKey, engine.RunOptions) (*engine.Handle, error) {
	panic(secretDetail)
}

func faultyAPI(tokens api.TokenAuthenticator, logs *testenv.SyncBuffer) http.Handler {
	return api.New(api.Deps{
		Store: faultyStore{}, Tokens: tokens, Engine: panickingEngine{}, Location: time.UTC,
		Now: time.Now, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
}

// TestInternalErrorsStayInTheLog: a fault in a handler, in the token check
// or a panic is a 500 with a plain message in the error shape; what went
// wrong is logged, never sent.
func TestInternalErrorsStayInTheLog(t *testing.T) {
	tests := []struct {
		name, method, path string
		tokens             api.TokenAuthenticator
	}{
		{"HandlerFault", http.MethodGet, "/jobs", anyToken{}},
		{"TokenCheckFault", http.MethodGet, "/jobs", anyToken{err: errors.New(secretDetail)}},
		{"Panic", http.MethodPost, "/jobs/active/runs", anyToken{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs := &testenv.SyncBuffer{}
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Header.Set("Authorization", "Bearer x")
			res := httptest.NewRecorder()
			faultyAPI(tc.tokens, logs).ServeHTTP(res, req)
			body := res.Body.String()
			if res.Code != http.StatusInternalServerError || !strings.Contains(body, `"code":"internal"`) || !strings.Contains(body, "The details are in the server log") {
				t.Fatalf("%d %s, want a plain 500", res.Code, body)
			}
			if strings.Contains(body, "password") || strings.Contains(body, "10.0.0.7") {
				t.Fatalf("the answer tells the fault: %s", body)
			}
			if !strings.Contains(logs.String(), "10.0.0.7") {
				t.Fatalf("the log does not tell the fault:\n%s", logs)
			}
		})
	}
}
