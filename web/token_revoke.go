package web

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

// handleTokenRevokeConfirm asks before revoking the token in the URL.
func (s *Server) handleTokenRevokeConfirm(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := domain.CheckTokenID(id); err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.deps.Tokens.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, t := range list {
		if t.ID == id {
			s.render(w, r, http.StatusOK, templates.TokenRevoke(templates.TokenRevokeView{
				Chrome: s.chrome(r, "Revoke "+t.Name, tokenCrumbs("Revoke "+t.Name)...),
				ID:     t.ID, Name: t.Name, Account: t.Account,
			}))
			return
		}
	}
	s.fail(w, r, domain.Errorf(domain.ENOTFOUND, "There is no API token %q.", id))
}

// handleTokenRevoke revokes the token in the URL for good.
func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	if _, err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.deps.Tokens.Revoke(r.Context(), chi.URLParam(r, "id"), actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("api token revoked", "token", t.Name, "account", t.Account, "by", actor(r))
	s.redirectWithFlash(w, r, "/admin/tokens", fmt.Sprintf("API token %s of account %s revoked: programs using it are refused from now on.", t.Name, t.Account))
}
