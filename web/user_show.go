package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

// userRunsShown is how many of the runs that changed a user the page lists.
const userRunsShown = 20

// fieldLabels name the mapped fields as the page shows them.
func fieldLabel(field string) string {
	switch field {
	case "username":
		return "Username"
	case "dn":
		return "Distinguished name"
	case "given_name":
		return "Given name"
	case "surname":
		return "Surname"
	case "display_name":
		return "Display name"
	case "email":
		return "Email"
	case "phone":
		return "Phone"
	case "title":
		return "Title"
	case "department":
		return "Department"
	case "employee_number":
		return "Employee number"
	}
	return field
}

// handleUserShow is a user's page, found by the user's id (userHref):
// mapped fields, state, credentials with their certificates, roles held and
// withdrawn, and the runs that changed the user.
func (s *Server) handleUserShow(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := domain.CheckUserID(id); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.deps.Store.UserByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items, total, err := s.deps.Store.RunItemsByUser(r.Context(), u.ID, 0, userRunsShown)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	snap, _ := s.opSnapshot(r.Context()) // only for the jobs' names
	v := templates.OpUserView{
		Chrome: s.chrome(r, u.Username, templates.Crumb{Label: "Home", Href: "/operator"},
			templates.Crumb{Label: "Users", Href: "/operator/users"}, templates.Crumb{Label: u.Username}),
		Username: u.Username, State: string(u.State), Source: u.Source,
		Created: s.formatTime(u.CreatedAt), Updated: s.formatTime(u.UpdatedAt), RunsTotal: total,
	}
	if u.DirectoryID != nil {
		v.DirectoryID = *u.DirectoryID
	}
	if u.LastSyncedAt != nil {
		v.LastSynced = s.formatTime(*u.LastSyncedAt)
	}
	for _, f := range domain.UserFields(&u.User) {
		v.Fields = append(v.Fields, [2]string{fieldLabel(f[0]), f[1]})
	}
	for _, c := range u.Credentials {
		oc := templates.OpCredential{TypeLabel: c.Type.Label(), Serial: c.Serial, State: string(c.State)}
		for _, cert := range c.Certificates {
			occ := templates.OpCertificate{
				Serial: cert.Serial, Subject: cert.Subject, Issuer: cert.Issuer, NotAfter: s.formatTime(cert.NotAfter),
				State: string(cert.State), StateLabel: cert.State.Label(),
			}
			if cert.RevocationReason != nil {
				occ.Reason = *cert.RevocationReason
			}
			if cert.RevokedAt != nil {
				occ.RevokedAt = s.formatTime(*cert.RevokedAt)
			}
			oc.Certificates = append(oc.Certificates, occ)
		}
		v.Credentials = append(v.Credentials, oc)
	}
	for _, role := range u.Roles {
		or := templates.OpRole{Name: role.RoleName, Assigned: s.formatTime(role.AssignedAt), Withdrawn: role.WithdrawnAt != nil}
		if role.WithdrawnAt != nil {
			or.When = s.formatTime(*role.WithdrawnAt)
		}
		if role.WithdrawnBy != nil && *role.WithdrawnBy != "" {
			or.RunHref = runHref(*role.WithdrawnBy)
		}
		v.Roles = append(v.Roles, or)
	}
	for _, it := range items {
		v.Runs = append(v.Runs, templates.OpUserRun{
			RunHref: runHref(it.Run.ID), Job: processName(snap, it.Run.JobKey), Started: s.formatTime(it.Run.StartedAt),
			Outcome: it.Item.Outcome, Changes: parseChanges(it.Item.Changes), Error: it.Item.Error,
		})
	}
	s.render(w, r, http.StatusOK, templates.OpUser(v))
}
