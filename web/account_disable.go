package web

import (
	"fmt"
	"net/http"
)

func (s *Server) handleAccountDisable(w http.ResponseWriter, r *http.Request) {
	name, f, err := pathAccountForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	disabled := f.flag("disabled")
	if err := f.errs.Err(); err != nil {
		s.fail(w, r, err)
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
