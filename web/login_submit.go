package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, domain.UnreadableForm(err))
		return
	}
	name, password, next := r.PostFormValue("username"), r.PostFormValue("password"), r.PostFormValue("next")
	// A new session id at every sign-in: end whatever session the browser had.
	if old, err := r.Cookie(sessionCookie); err == nil {
		_ = s.deps.Auth.Logout(r.Context(), old.Value)
	}
	token, acct, err := s.deps.Auth.Login(r.Context(), name, password, clientAddr(r))
	if err != nil {
		status := statusOf(err)
		if status == http.StatusInternalServerError {
			s.fail(w, r, err)
			return
		}
		setRetryAfter(w, err)
		v := templates.LoginView{Chrome: s.chrome(r, "Sign in"), Username: name, Next: carriedNext(next), Error: domain.ErrorMessage(err)}
		s.render(w, r, status, templates.Login(v))
		return
	}
	s.setSessionCookie(w, r, token)
	http.Redirect(w, r, safeNext(next, acct.Role), http.StatusSeeOther)
}

// setRetryAfter tells the client when to try again, in seconds, when err
// says (a throttled sign-in).
func setRetryAfter(w http.ResponseWriter, err error) {
	var wait interface{ RetryAfter() time.Duration }
	if errors.As(err, &wait) {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait.RetryAfter()+time.Second-1)/time.Second)))
	}
}
