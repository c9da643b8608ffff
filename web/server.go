// Package web is the HTTP side: the router, middleware and one handler file
// per action. Handlers render templates and call the application packages
// through the small interfaces declared in deps.go.
package web

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"idm/internal/admin"
	"idm/static"
	"idm/web/api"
)

// Server serves Admin and Operator.
type Server struct {
	deps  Deps
	log   *slog.Logger
	admin *admin.Service
	api   http.Handler
}

// New builds the HTTP handler; it refuses deps without a service.
func New(deps Deps) (http.Handler, error) {
	if err := deps.check(); err != nil {
		return nil, err
	}
	s := &Server{deps: deps, log: deps.Logger}
	s.admin = admin.New(admin.Deps{Store: deps.Store, Scheduler: deps.Scheduler, Notify: changeNotifier{deps.Notify, deps.Cache}, Box: deps.Box,
		Location: deps.Location, Now: deps.Now, Logger: deps.Logger})
	s.api = api.New(api.Deps{Store: deps.Store, Tokens: deps.Tokens, Engine: deps.Engine, Scheduler: deps.Scheduler,
		Admin: s.admin, Location: deps.Location, Now: deps.Now, Logger: deps.Logger})
	return s.routes(), nil
}

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(s.recoverer)
	r.Use(s.logRequests)
	r.Use(securityHeaders)
	// The API takes bearer tokens only and never reads a cookie: nothing a
	// browser sends on its own authenticates there, so it is mounted
	// outside the cross-origin protection and the sessions.
	r.Mount(api.Prefix, s.api)

	r.Group(func(r chi.Router) {
		r.Use(s.crossOriginProtection)
		s.mountPages(r)
	})
	r.NotFound(s.handleNotFound)
	return r
}

// mountPages mounts the pages (and the health checks and static files).
func (s *Server) mountPages(r chi.Router) {
	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	staticFS, _ := fs.Sub(static.FS, ".")
	r.Handle("/static/*", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(staticFS))))

	r.Group(func(r chi.Router) {
		r.Use(s.loadSession)
		r.Get("/", s.handleRoot)
		r.Get("/login", s.handleLoginShow)
		r.Post("/login", s.handleLoginSubmit)
		r.Post("/logout", s.handleLogout)

		s.mountArea(r, "/admin", roleAdmin, s.handleAdminHome,
			s.mountAdminBatchSync, s.mountAdminLDAP, s.mountAdminAccounts,
			s.mountAdminTokens, s.mountAdminAudit, s.mountAdminNotifications)
		s.mountArea(r, "/operator", roleOperator, s.handleOperatorHome,
			s.mountOperatorJobs, s.mountOperatorUsers, s.mountOperatorCache)
	})
}

// mountArea mounts one of the two areas, Admin or Operator, under prefix:
// only level reaches it, home is its first page, and each of sections
// mounts its pages.
func (s *Server) mountArea(r chi.Router, prefix string, level accessLevel, home http.HandlerFunc, sections ...func(chi.Router)) {
	r.Route(prefix, func(r chi.Router) {
		r.Use(s.requireRole(level))
		r.Get("/", home)
		for _, mount := range sections {
			mount(r)
		}
	})
}

// changeNotifier announces an Admin save to the other instances and tells
// this instance's Operator cache first, so that its "changed since" notice
// does not wait for its next check of the database.
type changeNotifier struct {
	Notifier
	cache OperatorCache
}

func (n changeNotifier) Notify(ctx context.Context, topic string) {
	n.cache.Changed()
	n.Notifier.Notify(ctx, topic)
}
