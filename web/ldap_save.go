package web

import (
	"net/http"

	"idm/internal/cluster"
	"idm/internal/domain"
	"idm/templates"
)

const ldapSavedFlash = "LDAP connection saved. To see this update in Identity Manager Operator, click Clear cache in the Operator UI."

// handleLDAPSave saves the LDAP connection. Bad input re-renders the form
// with a message at each field and saves nothing; the bind password is
// sealed before it is stored and kept as it is when the field is empty,
// unless the server or the bind DN changed (domain.ValidateLDAPChange).
func (s *Server) handleLDAPSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cur, err := s.deps.Store.LDAPSettings(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := parseLDAPForm(r, cur)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	errs := f.Errors
	errs.Merge(domain.ValidateLDAPChange(cur, f.S, f.Password))
	if len(errs) > 0 {
		s.renderLDAP(w, r, http.StatusUnprocessableEntity, cur, templates.LDAPView{S: f.S, Errors: errs.Map()})
		return
	}
	switch {
	case f.Password.Clear:
		f.S.BindPasswordEnc = ""
	case f.Password.New != "":
		sealed, err := s.deps.Box.Seal(f.Password.New)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		f.S.BindPasswordEnc = sealed
	}
	saved, err := s.deps.Store.SaveLDAPSettings(ctx, f.S, actor(r))
	if domain.ErrorCode(err) == domain.ECONFLICT {
		latest, getErr := s.deps.Store.LDAPSettings(ctx)
		if getErr != nil {
			s.fail(w, r, getErr)
			return
		}
		// Keep what was typed (but the password) with the version it was
		// typed against: saving again needs a reload.
		s.renderLDAP(w, r, http.StatusConflict, latest, templates.LDAPView{S: f.S, Conflict: "Nothing was saved: " + domain.ErrorMessage(err) + "."})
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("ldap connection saved", "settings", saved.String(), "version", saved.Version, "by", actor(r))
	s.deps.Notify.Notify(ctx, cluster.TopicSettings)
	s.redirectWithFlash(w, r, "/admin/ldap", ldapSavedFlash)
}
