package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"idm/templates"
)

func (s *Server) mountAdminTokens(r chi.Router) {
	r.Get("/tokens", s.handleTokenList)
	r.Post("/tokens", s.handleTokenCreate)
	r.Get("/tokens/{id}/revoke", s.handleTokenRevokeConfirm)
	r.Post("/tokens/{id}/revoke", s.handleTokenRevoke)
}

// tokenLifetimes are the form's choices; the domain takes the same words
// from the command line (domain.ParseTokenLifetime).
var tokenLifetimes = []templates.TokenLifetime{
	{Value: "7d", Label: "7 days"}, {Value: "30d", Label: "30 days"}, {Value: "90d", Label: "90 days"},
	{Value: "180d", Label: "180 days"}, {Value: "1y", Label: "1 year (the longest)"},
}

func tokenCrumbs(last string) []templates.Crumb {
	crumbs := []templates.Crumb{{Label: "Home", Href: "/admin"}, {Label: "API tokens", Href: "/admin/tokens"}}
	if last != "" {
		return append(crumbs, templates.Crumb{Label: last})
	}
	crumbs[1].Href = ""
	return crumbs
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) {
	s.renderTokens(w, r, http.StatusOK, templates.TokensView{NewExpires: "90d"})
}

// renderTokens shows Home > API tokens; v carries a refused form's values
// and messages.
func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, v templates.TokensView) {
	list, err := s.deps.Tokens.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	accounts, err := s.deps.Store.ListAccounts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Chrome = s.chrome(r, "API tokens", tokenCrumbs("")...)
	v.Lifetimes = tokenLifetimes
	for _, a := range accounts {
		if !a.Disabled {
			v.Accounts = append(v.Accounts, a.Username)
		}
	}
	now := s.deps.Now()
	for _, t := range list {
		v.Tokens = append(v.Tokens, templates.TokenRow{
			ID: t.ID, Name: t.Name, Account: t.Account, Role: string(t.Role), State: string(t.State(now)),
			Created: s.formatTime(t.CreatedAt), Expires: s.formatTime(t.ExpiresAt),
			LastUsed: s.formatOptional(t.LastUsedAt), Revoked: s.formatOptional(t.RevokedAt),
		})
	}
	s.render(w, r, status, templates.Tokens(v))
}

// formatOptional is formatTime of a time that may be missing.
func (s *Server) formatOptional(t *time.Time) string {
	if t == nil {
		return ""
	}
	return s.formatTime(*t)
}
