package web

import (
	"fmt"
	"net/http"

	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) handleAccountPassword(w http.ResponseWriter, r *http.Request) {
	f, err := readForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := f.raw("name")
	errs := f.errs
	if err := domain.ValidateAccountName(name); err != nil {
		errs.Add("pw_name", "%s", domain.ErrorMessage(err))
	}
	hash := hashNewPassword(f.raw("password"), f.raw("password2"), &errs, "pw_password")
	if len(errs) == 0 {
		if err := s.deps.Store.SetAccountPassword(r.Context(), name, hash, actor(r)); err != nil {
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				s.fail(w, r, err)
				return
			}
			errs.Add("pw_name", "%s", domain.ErrorMessage(err))
		}
	}
	if len(errs) > 0 {
		s.renderAccounts(w, r, http.StatusUnprocessableEntity, templates.AccountsView{PasswordFor: name, Errors: errs.Map()})
		return
	}
	s.redirectWithFlash(w, r, "/admin/accounts", fmt.Sprintf("Password of %s set; its sessions were ended.", name))
}
