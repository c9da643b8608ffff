package web

import (
	"fmt"
	"net/http"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) handleAccountCreate(w http.ResponseWriter, r *http.Request) {
	f, err := readForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, roleText := f.raw("name"), f.raw("role")
	errs := f.errs
	if err := domain.ValidateAccountName(name); err != nil {
		errs.Add("name", "%s", domain.ErrorMessage(err))
	}
	role, err := domain.ParseAccountRole(roleText)
	if err != nil {
		errs.Add("role", "%s", domain.ErrorMessage(err))
	}
	hash := hashNewPassword(f.raw("password"), f.raw("password2"), &errs, "password")
	if len(errs) == 0 {
		if _, err := s.deps.Store.CreateAccount(r.Context(), name, role, hash, actor(r)); err != nil {
			if domain.ErrorCode(err) != domain.ECONFLICT {
				s.fail(w, r, err)
				return
			}
			errs.Add("name", "%s", domain.ErrorMessage(err))
		}
	}
	if len(errs) > 0 {
		s.renderAccounts(w, r, http.StatusUnprocessableEntity, templates.AccountsView{NewName: name, NewRole: roleText, Errors: errs.Map()})
		return
	}
	s.log.Info("account created", "account", name, "role", role, "by", actor(r))
	s.redirectWithFlash(w, r, "/admin/accounts", fmt.Sprintf("Account %s created as %s.", name, role))
}

// hashNewPassword checks a new password typed twice, recording a problem at
// field in errs, and hashes it when the form has no problem at all: a
// refused form costs no bcrypt.
func hashNewPassword(pw, again string, errs *domain.FieldErrors, field string) string {
	err := domain.ValidatePassword(pw)
	switch {
	case pw != again:
		errs.Add(field, "The two passwords differ.")
	case err != nil:
		errs.Add(field, "%s", domain.ErrorMessage(err))
	case len(*errs) == 0:
		h, err := auth.HashPassword(pw)
		if err != nil {
			errs.Add(field, "%s", domain.ErrorMessage(err))
		}
		return h
	}
	return ""
}
