package web

import (
	"net/http"
	"strings"

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
	s.render(w, r, http.StatusOK, templates.Login(templates.LoginView{Chrome: s.chrome(r, "Sign in"), Next: carriedNext(next)}))
}

func roleHome(role domain.AccountRole) string {
	if role.CanAdminister() {
		return "/admin"
	}
	return "/operator"
}

// safeNext is the page to return to after sign-in: next when it is a page
// of ours (domain.SafeRedirectPath) and not an Admin page for an operator,
// the account's home otherwise.
func safeNext(next string, role domain.AccountRole) string {
	p, ok := domain.SafeRedirectPath(next)
	if !ok || !role.CanAdminister() && isAdminPath(p) {
		return roleHome(role)
	}
	return p
}

// carriedNext is the next that the login form carries: none when sign-in
// would not return there.
func carriedNext(next string) string {
	if p, ok := domain.SafeRedirectPath(next); ok {
		return p
	}
	return ""
}

func isAdminPath(p string) bool {
	path, _, _ := strings.Cut(p, "?")
	return path == "/admin" || strings.HasPrefix(path, "/admin/")
}
