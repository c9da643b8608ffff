package web

import (
	"fmt"
	"net/http"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) handleAccountCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, err)
		return
	}
	name, roleText := r.PostFormValue("name"), r.PostFormValue("role")
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password2")
	errs := map[string]string{}
	if err := domain.ValidateAccountName(name); err != nil {
		errs["name"] = domain.ErrorMessage(err)
	}
	role, err := domain.ParseAccountRole(roleText)
	if err != nil {
		errs["role"] = domain.ErrorMessage(err)
	}
	hash := ""
	if pw != pw2 {
		errs["password"] = "The two passwords differ."
	} else if h, err := auth.HashPassword(pw); err != nil {
		errs["password"] = domain.ErrorMessage(err)
	} else {
		hash = h
	}
	if len(errs) == 0 {
		if _, err := s.deps.Store.CreateAccount(r.Context(), name, role, hash, actor(r)); err != nil {
			if domain.ErrorCode(err) != domain.ECONFLICT {
				s.fail(w, r, err)
				return
			}
			errs["name"] = domain.ErrorMessage(err)
		}
	}
	if len(errs) > 0 {
		s.renderAccounts(w, r, http.StatusUnprocessableEntity, templates.AccountsView{NewName: name, NewRole: roleText, Errors: errs})
		return
	}
	s.log.Info("account created", "account", name, "role", role, "by", actor(r))
	s.redirectWithFlash(w, r, "/admin/accounts", fmt.Sprintf("Account %s created as %s.", name, role))
}
