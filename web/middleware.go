package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"idm/internal/domain"
)

const sessionCookie = "idm_session"

type ctxKey int

const (
	ctxAccount ctxKey = iota
	ctxSession
)

func accountFrom(ctx context.Context) *domain.Account {
	a, _ := ctx.Value(ctxAccount).(*domain.Account)
	return a
}

func sessionFrom(ctx context.Context) *domain.Session {
	s, _ := ctx.Value(ctxSession).(*domain.Session)
	return s
}

// actor names the signed-in account, for audit events and run records.
func actor(r *http.Request) string {
	if a := accountFrom(r.Context()); a != nil {
		return a.Username
	}
	return ""
}

// loadSession puts the signed-in account, if any, into the request context.
func (s *Server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, acct, err := s.deps.Auth.Authenticate(r.Context(), c.Value)
		if err != nil {
			if statusOf(err) == http.StatusInternalServerError {
				s.fail(w, r, err)
				return
			}
			s.clearSessionCookie(w, r)
			next.ServeHTTP(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), ctxAccount, acct)
		ctx = context.WithValue(ctx, ctxSession, sess)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type accessLevel int

const (
	roleOperator accessLevel = iota
	roleAdmin
)

// requireRole lets through accounts allowed at level: administrators
// everywhere, operators on Operator only. Someone not signed in goes to the
// login page and comes back afterwards.
func (s *Server) requireRole(level accessLevel) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			acct := accountFrom(r.Context())
			if acct == nil {
				if r.Method == http.MethodGet && !isHTMX(r) {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				if isHTMX(r) {
					w.Header().Set("HX-Redirect", "/login")
				}
				s.fail(w, r, domain.Errorf(domain.EUNAUTHORIZED, "Sign in to continue."))
				return
			}
			allowed := acct.Role.CanOperate()
			if level == roleAdmin {
				allowed = acct.Role.CanAdminister()
			}
			if !allowed {
				s.log.Warn("access refused", "account", acct.Username, "role", acct.Role, "path", r.URL.Path)
				s.fail(w, r, domain.Errorf(domain.EFORBIDDEN, "This page is for administrators. You are signed in as %s, an %s.", acct.Username, acct.Role))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// crossOriginProtection refuses cross-site state-changing requests (CSRF),
// using the browser's Sec-Fetch-Site and Origin headers.
func (s *Server) crossOriginProtection(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		s.fail(w, r, domain.Errorf(domain.EFORBIDDEN, "This request came from another site and was refused."))
	}))
	return cop.Handler(next)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic in handler", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				s.fail(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		if strings.HasPrefix(r.URL.Path, "/static/") {
			return
		}
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", ww.Status(),
			"duration", time.Since(start), "request_id", middleware.GetReqID(r.Context()))
	})
}

// clientAddr is the peer address; no proxy header is trusted.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) secure(r *http.Request) bool { return s.deps.SecureCookies || r.TLS != nil }

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}
