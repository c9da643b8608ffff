package web

import (
	"errors"
	"net/http"

	"idm/internal/domain"
	"idm/templates"
)

// handleTokenCreate makes an API token and shows it, once: the answer is
// the page itself (a redirect would need the token stored for the next
// page), and nothing but its hash is kept. Refused input re-renders the
// form with the domain's message at each field.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	f, err := readForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	account, name, expires := f.text("account"), f.text("name"), f.text("expires")
	plain, tok, err := s.deps.Tokens.Create(r.Context(), account, name, expires, actor(r))
	var fe domain.FieldErrors
	if errors.As(err, &fe) {
		s.renderTokens(w, r, http.StatusUnprocessableEntity, templates.TokensView{
			NewAccount: account, NewName: name, NewExpires: expires, Errors: fe.Map(),
		})
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("api token created", "token", tok.Name, "account", account, "expires", tok.ExpiresAt, "by", actor(r))
	s.render(w, r, http.StatusOK, templates.TokenCreated(templates.TokenCreatedView{
		Chrome: s.chrome(r, "Token created", tokenCrumbs("New token")...),
		Token:  plain, Name: tok.Name, Account: account, Expires: s.formatTime(tok.ExpiresAt),
	}))
}
