package web

import (
	"net/http"
	"strings"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/templates"
)

const usersPerPage = 25

// handleUserSearch is Operator > Users: search by username, name or email
// and state. The live search (htmx) asks for the same page and swaps in its
// results.
func (s *Server) handleUserSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if err := domain.CheckSearchText(q); err != nil {
		s.fail(w, r, err)
		return
	}
	state := domain.UserState(r.URL.Query().Get("state"))
	if state != "" && state != domain.UserActive && state != domain.UserInactive {
		s.fail(w, r, domain.Errorf(domain.EINVALID, "Unknown state %q: use active or inactive.", state))
		return
	}
	page, err := pageParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	users, total, err := s.deps.Store.SearchUsers(r.Context(), store.UserQuery{
		Text: q, State: state, Offset: (page - 1) * usersPerPage, Limit: usersPerPage,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templates.OpUsersView{
		Chrome: s.chrome(r, "Users", templates.Crumb{Label: "Home", Href: "/operator"}, templates.Crumb{Label: "Users"}),
		Query:  q, State: string(state), Pager: pager(r, page, usersPerPage, total),
		States: []templates.OpOption{
			{Value: "", Label: "Any", Selected: state == ""},
			{Value: string(domain.UserActive), Label: "Active", Selected: state == domain.UserActive},
			{Value: string(domain.UserInactive), Label: "Inactive", Selected: state == domain.UserInactive},
		},
	}
	for _, u := range users {
		name := u.DisplayName
		if name == "" {
			name = strings.TrimSpace(u.GivenName + " " + u.Surname)
		}
		v.Users = append(v.Users, templates.OpUserRow{
			Username: u.Username, Href: userHref(u.ID), Name: name, Email: u.Email,
			State: string(u.State), Source: u.Source,
		})
	}
	s.render(w, r, http.StatusOK, templates.OpUsers(v))
}
