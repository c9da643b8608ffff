package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) mountAdminAccounts(r chi.Router) {
	r.Get("/accounts", s.handleAccountsShow)
	r.Post("/accounts", s.handleAccountCreate)
	r.Post("/accounts/password", s.handleAccountPassword)
	r.Get("/accounts/{name}/disable", s.handleAccountDisableConfirm)
	r.Post("/accounts/{name}/disabled", s.handleAccountDisable)
	r.Post("/accounts/{name}/role", s.handleAccountRole)
}

func (s *Server) handleAccountsShow(w http.ResponseWriter, r *http.Request) {
	s.renderAccounts(w, r, http.StatusOK, templates.AccountsView{})
}

// renderAccounts shows the accounts page; v carries a failed form's values
// and messages.
func (s *Server) renderAccounts(w http.ResponseWriter, r *http.Request, status int, v templates.AccountsView) {
	accounts, err := s.deps.Store.ListAccounts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Chrome = s.chrome(r, "Accounts", templates.Crumb{Label: "Home", Href: "/admin"}, templates.Crumb{Label: "Accounts"})
	me := actor(r)
	for _, a := range accounts {
		row := templates.AccountRow{Name: a.Username, Role: string(a.Role), Disabled: a.Disabled, Created: s.formatTime(a.CreatedAt), Self: a.Username == me}
		if a.LastLoginAt != nil {
			row.LastLogin = s.formatTime(*a.LastLoginAt)
		}
		v.Accounts = append(v.Accounts, row)
	}
	s.render(w, r, status, templates.Accounts(v))
}

// pathAccount is the account name the URL holds, checked before the store
// is asked.
func pathAccount(r *http.Request) (string, error) {
	name := chi.URLParam(r, "name")
	return name, domain.CheckAccountLookup(name)
}

// pathAccountForm is the account the URL names and the posted form.
func pathAccountForm(r *http.Request) (string, *form, error) {
	name, err := pathAccount(r)
	if err != nil {
		return "", nil, err
	}
	f, err := readForm(r)
	if err != nil {
		return "", nil, err
	}
	return name, f, nil
}
