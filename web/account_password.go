package web

import (
	"fmt"
	"net/http"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) handleAccountPassword(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, err)
		return
	}
	name, pw, pw2 := r.PostFormValue("name"), r.PostFormValue("password"), r.PostFormValue("password2")
	errs := map[string]string{}
	hash := ""
	if pw != pw2 {
		errs["pw_password"] = "The two passwords differ."
	} else if h, err := auth.HashPassword(pw); err != nil {
		errs["pw_password"] = domain.ErrorMessage(err)
	} else {
		hash = h
	}
	if len(errs) == 0 {
		if err := s.deps.Store.SetAccountPassword(r.Context(), name, hash, actor(r)); err != nil {
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				s.fail(w, r, err)
				return
			}
			errs["pw_name"] = domain.ErrorMessage(err)
		}
	}
	if len(errs) > 0 {
		s.renderAccounts(w, r, http.StatusUnprocessableEntity, templates.AccountsView{Errors: errs})
		return
	}
	s.redirectWithFlash(w, r, "/admin/accounts", fmt.Sprintf("Password of %s set; its sessions were ended.", name))
}
