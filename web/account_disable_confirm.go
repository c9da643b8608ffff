package web

import (
	"net/http"

	"idm/internal/domain"
	"idm/templates"
)

// handleAccountDisableConfirm asks before an account is disabled: a page of
// its own, so that the question works without JavaScript.
func (s *Server) handleAccountDisableConfirm(w http.ResponseWriter, r *http.Request) {
	name, err := pathAccount(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := domain.CheckOwnAccount(name, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.deps.Store.AccountByName(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templates.AccountDisableView{
		Chrome: s.chrome(r, "Disable "+a.Username, templates.Crumb{Label: "Home", Href: "/admin"},
			templates.Crumb{Label: "Accounts", Href: "/admin/accounts"}, templates.Crumb{Label: "Disable " + a.Username}),
		Name: a.Username, Role: string(a.Role),
	}
	s.render(w, r, http.StatusOK, templates.AccountDisable(v))
}
