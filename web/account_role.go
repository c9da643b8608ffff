package web

import (
	"fmt"
	"net/http"

	"idm/internal/domain"
)

// handleAccountRole gives another account the role chosen in its row, by
// the store's rule (domain.CheckRoleChange): an administrator does not
// change their own role (another administrator can), and the last enabled
// administrator stays one.
func (s *Server) handleAccountRole(w http.ResponseWriter, r *http.Request) {
	name, f, err := pathAccountForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	role, err := domain.ParseAccountRole(f.raw("role"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Store.SetAccountRole(r.Context(), name, role, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("account role set", "account", name, "role", role, "by", actor(r))
	s.redirectWithFlash(w, r, "/admin/accounts", fmt.Sprintf("%s is now an %s; their sessions were ended.", name, role))
}
