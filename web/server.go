// Package web is the HTTP side: the router, middleware and one handler file
// per action. Handlers render templates and call the application packages
// through the small interfaces declared in deps.go.
package web

import (
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"idm/static"
)

// Server serves Admin and Operator.
type Server struct {
	deps Deps
	log  *slog.Logger
}

// New builds the HTTP handler; it refuses deps without a service.
func New(deps Deps) (http.Handler, error) {
	if err := deps.check(); err != nil {
		return nil, err
	}
	s := &Server{deps: deps, log: deps.Logger}
	return s.routes(), nil
}

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(s.recoverer)
	r.Use(s.logRequests)
	r.Use(securityHeaders)
	r.Use(s.crossOriginProtection)

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

		r.Route("/admin", func(r chi.Router) {
			r.Use(s.requireRole(roleAdmin))
			r.Get("/", s.handleAdminHome)
			s.mountAdminBatchSync(r)
			s.mountAdminLDAP(r)
			s.mountAdminAccounts(r)
			s.mountAdminAudit(r)
			s.mountAdminNotifications(r)
		})
		r.Route("/operator", func(r chi.Router) {
			r.Use(s.requireRole(roleOperator))
			r.Get("/", s.handleOperatorHome)
			s.mountOperatorJobs(r)
			s.mountOperatorUsers(r)
			s.mountOperatorCache(r)
		})
	})
	r.NotFound(s.handleNotFound)
	return r
}
