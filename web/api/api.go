// Package api is the JSON API under /api/v1, for automation: list the jobs,
// start a run and follow it, read runs and users; administrators also read
// and change the schedules and the LDAP connection. A request carries an API
// token (Authorization: Bearer TOKEN) and acts with its account's role;
// cookies are never read. Handlers are huma v2 operations on the web's chi
// router, so the OpenAPI 3.1 document (/api/v1/openapi.json) is generated
// from their types. Errors are {"error": {"code", "message", "fields"}},
// with the status the pages give each kind (web/errkind). Runs start through
// the engine; schedule and LDAP saves go through internal/admin, as the
// Admin forms' do.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"

	"idm/internal/admin"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Deps are what the API needs; every field is required.
type Deps struct {
	Store     Store
	Tokens    TokenAuthenticator
	Engine    JobEngine
	Scheduler Scheduler
	Admin     AdminChanges
	// Location is the zone of schedules; Now the clock.
	Location *time.Location
	Now      func() time.Time
	Logger   *slog.Logger
}

// Store is what the API reads.
type Store interface {
	ListJobs(ctx context.Context) ([]domain.Job, error)
	GetJob(ctx context.Context, key domain.JobKey) (*domain.Job, error)
	RunsSummary(ctx context.Context, keys []domain.JobKey, freshAfter time.Time) (*store.RunsSummary, error)
	GetRun(ctx context.Context, id string) (*domain.Run, error)
	RunItemsAfter(ctx context.Context, runID, outcome string, afterSeq, limit int) ([]domain.RunItem, error)
	UserByUsername(ctx context.Context, username string) (*store.UserDetail, error)
	LDAPSettings(ctx context.Context) (domain.LDAPSettings, error)
}

// TokenAuthenticator checks a request's API token (auth.Tokens).
type TokenAuthenticator interface {
	Authenticate(ctx context.Context, token string) (*domain.APIToken, *domain.Account, error)
}

// JobEngine starts runs and tells a running run's live figures.
type JobEngine interface {
	Start(ctx context.Context, key domain.JobKey, opts engine.RunOptions) (*engine.Handle, error)
	Status(key domain.JobKey) (domain.Run, bool)
}

// Scheduler says when a job fires next.
type Scheduler interface {
	NextRun(key domain.JobKey) (time.Time, bool)
}

// AdminChanges saves schedules and the LDAP connection (admin.Service).
type AdminChanges interface {
	SaveSchedule(ctx context.Context, key domain.JobKey, sc admin.Schedule, by string) (admin.SavedSchedule, error)
	SaveLDAP(ctx context.Context, cur, next domain.LDAPSettings, pw domain.BindPassword, by string) (domain.LDAPSettings, error)
}

// runFreshness is how recent a running run's heartbeat must be for it to
// count as running (as on the Operator pages).
const runFreshness = 2 * time.Minute

type server struct {
	d   Deps
	api huma.API
}

// New builds the API's handler, to be mounted at Prefix.
func New(d Deps) http.Handler {
	r := chi.NewRouter()
	s := &server{d: d}
	r.Use(s.withLogger, s.recoverer, s.readableQuery, s.utf8Body)
	s.api = humachi.New(r, config())
	s.registerJobs()
	s.registerRuns()
	s.registerUsers()
	s.registerSchedules()
	s.registerLDAP()
	documentErrors(s.api.OpenAPI())
	r.Get("/openapi.json", s.serveOpenAPI)
	r.NotFound(s.answer(http.StatusNotFound, "There is no API endpoint here: the endpoints are listed in "+Prefix+"/openapi.json."))
	r.MethodNotAllowed(s.answer(http.StatusMethodNotAllowed, "This endpoint does not take this method: see "+Prefix+"/openapi.json."))
	return r
}

// config is huma's configuration: JSON only, no docs page (it would load
// scripts from another site), no $schema links, unknown query parameters
// refused.
func config() huma.Config {
	c := huma.DefaultConfig("Identity Manager LDAP batch synchronization", "1.0.0")
	c.Info.Description = "Automation for the batch jobs: start a run and follow it, read runs and users; " +
		"administrators also schedules and the LDAP connection. Every request carries an API token: Authorization: Bearer TOKEN."
	c.Servers = []*huma.Server{{URL: Prefix}}
	c.OpenAPIPath, c.DocsPath, c.SchemasPath = "", "", ""
	c.CreateHooks = nil
	c.RejectUnknownQueryParameters = true
	c.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An API token (idm_…): idm token create, or Admin, Home > API tokens."},
	}
	return c
}

// operation describes an operation that level may call; errs are the
// statuses it answers besides 401 (and 403 for administrators only).
func (s *server) operation(method, path, id, summary string, level access, errs ...int) huma.Operation {
	errs = append(errs, http.StatusUnauthorized)
	if level == administrators {
		errs = append(errs, http.StatusForbidden)
	}
	return huma.Operation{
		OperationID: id, Method: method, Path: path, Summary: summary,
		Security:    []map[string][]string{{"bearer": {}}},
		Errors:      errs,
		Middlewares: huma.Middlewares{s.authenticate(level)},
	}
}

// documentErrors gives every operation a default response in the error
// shape: whatever status an operation answers besides those it lists (a
// body too large, a media type it does not read) is documented too.
func documentErrors(doc *huma.OpenAPI) {
	errSchema := &huma.Schema{Ref: "#/components/schemas/ErrorResponse"}
	for _, item := range doc.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op != nil {
				op.Responses["default"] = &huma.Response{Description: "Error",
					Content: map[string]*huma.MediaType{"application/json": {Schema: errSchema}}}
			}
		}
	}
}

func (s *server) serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	b, err := json.Marshal(s.api.OpenAPI())
	if err != nil {
		s.writeError(w, s.problem(context.Background(), fmt.Errorf("api: marshal the OpenAPI document: %w", err)))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// answer is a handler that answers status with msg, in the error shape.
func (s *server) answer(status int, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		s.writeError(w, newError(status, msg).(*ErrorResponse))
	}
}

func (s *server) writeError(w http.ResponseWriter, e *ErrorResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e)
}

// withLogger puts the API's logger in the request's context, where huma's
// error model finds it.
func (s *server) withLogger(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loggerKey, s.d.Logger)))
	})
}

// readableQuery refuses a query string that does not decode or names a
// parameter twice: huma would read the first as empty and the second not at
// all, and answer as if the client had sent something else.
func (s *server) readableQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			s.writeError(w, problemOf(domain.Errorf(domain.EMALFORMED, "The query string could not be read (%v).", err)))
			return
		}
		for name, values := range q {
			if len(values) > 1 {
				s.writeError(w, problemOf(domain.Invalid(name, "Give %s once, not %d times", name, len(values))))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// maxCheckedBody bounds what utf8Body reads ahead: huma's limit on a
// request body (a larger one is answered 413 by huma).
const maxCheckedBody = 1 << 20

// utf8Body refuses a request body that is not UTF-8 (domain.CheckBodyText)
// before huma's JSON decoder replaces its bad bytes with U+FFFD.
func (s *server) utf8Body(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		head, err := io.ReadAll(io.LimitReader(r.Body, maxCheckedBody+1))
		if err != nil {
			s.writeError(w, problemOf(domain.Errorf(domain.EMALFORMED, "The request body could not be read (%v).", err)))
			return
		}
		if len(head) <= maxCheckedBody {
			if err := domain.CheckBodyText(head); err != nil {
				s.writeError(w, problemOf(err))
				return
			}
		}
		r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		next.ServeHTTP(w, r)
	})
}

// readCloser reads from Reader and closes the original body.
type readCloser struct {
	io.Reader
	io.Closer
}

// recoverer answers a panic with a 500 in the error shape (the pages'
// recoverer would answer with an HTML page).
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.d.Logger.Error("panic in api handler", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				s.writeError(w, problemOf(fmt.Errorf("panic: %v", p)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
