package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"idm/web"
)

// standIns are Deps whose services a handler test does not reach: each is
// an interface left empty, so a call would panic (and fail the test).
func standIns(store web.Store) web.Deps {
	return web.Deps{
		Store: store, Auth: struct{ web.Authenticator }{}, Box: struct{ web.SecretBox }{}, Tokens: struct{ web.TokenService }{},
		Scheduler: struct{ web.Scheduler }{}, Engine: struct{ web.JobEngine }{}, Cache: struct{ web.OperatorCache }{},
		Webhooks: struct{ web.WebhookSender }{},
	}
}

// pingStore is a store that only answers Ping, with err.
type pingStore struct {
	web.Store
	err error
}

func (s pingStore) Ping(context.Context) error { return s.err }

// TestReadyz: /readyz says whether the database answers; a fake store
// stands in, since the real one cannot be made to fail on demand.
func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"OK", nil, http.StatusOK, "ready"},
		{"ErrDatabaseDown", errors.New("connection refused"), http.StatusServiceUnavailable, "database unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := web.New(standIns(pingStore{err: tc.err}))
			if err != nil {
				t.Fatal(err)
			}
			res := serve(h, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if res.Code != tc.status || !strings.Contains(res.Body.String(), tc.body) {
				t.Errorf("GET /readyz: %d %q, want %d %q", res.Code, res.Body, tc.status, tc.body)
			}
		})
	}
}

// TestNewRequiresServices: a Deps without a service is refused at start,
// never found out by a request.
func TestNewRequiresServices(t *testing.T) {
	d := standIns(pingStore{})
	d.Engine, d.Cache = nil, nil
	_, err := web.New(d)
	if err == nil || !strings.Contains(err.Error(), "Deps.Engine") || !strings.Contains(err.Error(), "Deps.Cache") {
		t.Errorf("web.New without an engine and a cache: %v, want both named", err)
	}
	if _, err := web.New(standIns(pingStore{})); err != nil {
		t.Errorf("web.New with every service: %v", err)
	}
}
