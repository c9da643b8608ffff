package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/a-h/templ"

	"idm/internal/domain"
	"idm/templates"
	"idm/web/errkind"
)

// statusOf is the HTTP status of err's kind (errkind: the API's too).
func statusOf(err error) int { return errkind.Status(err) }

// titleOf is the title of the error page for err.
func titleOf(err error) string { return errkind.Title(err) }

// render writes a component with a status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("render page", "path", r.URL.Path, "err", err)
	}
}

// fail answers with an error page (or, for htmx, the message alone). An
// internal error is logged with its details; the person sees a plain message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	msg := domain.ErrorMessage(err)
	if isHTMX(r) {
		// htmx leaves the page alone on an error status unless told otherwise:
		// swap the message into the element that asked.
		w.Header().Set("HX-Reswap", "innerHTML")
		s.render(w, r, status, templ.Raw(`<p class="idm-error" role="alert" data-testid="error-message">`+templ.EscapeString(msg)+`</p>`))
		return
	}
	c := s.chrome(r, titleOf(err))
	s.render(w, r, status, templates.ErrorPage(c, status, msg))
}

// isHTMX reports whether htmx made the request (it then wants a fragment).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// redirectWithFlash stores a one-time message and answers a plain form POST
// with a 303 to target; htmx requests get HX-Redirect.
func (s *Server) redirectWithFlash(w http.ResponseWriter, r *http.Request, target, flash string) {
	if sess := sessionFrom(r.Context()); sess != nil && flash != "" {
		if err := s.deps.Store.SetFlash(r.Context(), sess.TokenHash, flash); err != nil {
			s.log.Error("set flash", "err", err)
		}
	}
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, domain.Errorf(domain.ENOTFOUND, "There is no page at %s.", r.URL.Path))
}
