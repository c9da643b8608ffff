package web

import (
	"net/http"

	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	if acct := accountFrom(r.Context()); acct != nil {
		http.Redirect(w, r, roleHome(acct.Role), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) handleLoginShow(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if acct := accountFrom(r.Context()); acct != nil {
		http.Redirect(w, r, safeNext(next, acct.Role), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, templates.Login(templates.LoginView{Chrome: s.chrome(r, "Sign in"), Next: next}))
}

func roleHome(role domain.AccountRole) string {
	if role.CanAdminister() {
		return "/admin"
	}
	return "/operator"
}

// safeNext accepts only a path on this site as the page to return to, and
// not an Admin page for an operator.
func safeNext(next string, role domain.AccountRole) string {
	if len(next) < 1 || next[0] != '/' || (len(next) > 1 && (next[1] == '/' || next[1] == '\\')) {
		return roleHome(role)
	}
	if !role.CanAdminister() && (next == "/admin" || len(next) > 6 && next[:7] == "/admin/") {
		return roleHome(role)
	}
	return next
}
