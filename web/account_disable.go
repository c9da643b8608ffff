package web

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
)

func (s *Server) handleAccountDisable(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := domain.CheckAccountLookup(name); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := readForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	disabled := f.flag("disabled")
	if err := f.errs.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	if name == actor(r) {
		s.fail(w, r, domain.Errorf(domain.EINVALID, "You cannot disable your own account."))
		return
	}
	if err := s.deps.Store.SetAccountDisabled(r.Context(), name, disabled, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	state := "enabled"
	if disabled {
		state = "disabled"
	}
	s.redirectWithFlash(w, r, "/admin/accounts", fmt.Sprintf("Account %s %s.", name, state))
}
