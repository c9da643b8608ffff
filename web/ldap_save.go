package web

import (
	"errors"
	"net/http"

	"idm/internal/domain"
	"idm/templates"
)

const ldapSavedFlash = "LDAP connection saved. " + clearCacheReminder

// handleLDAPSave saves the LDAP connection. Bad input re-renders the form
// with a message at each field and saves nothing; the bind password is
// sealed before it is stored and kept as it is when the field is empty,
// unless the server or the bind DN changed (domain.ValidateLDAPChange).
// admin.SaveLDAP saves it, as it does for the API.
func (s *Server) handleLDAPSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cur, f, err := s.readLDAPForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.Errors) > 0 {
		// A number or a switch that is not one: say so, with what the
		// domain's rule says of the rest, and save nothing.
		errs := f.Errors
		errs.Merge(domain.ValidateLDAPChange(cur, f.S, f.Password))
		s.renderLDAP(w, r, http.StatusUnprocessableEntity, cur, templates.LDAPView{S: f.S, Errors: errs.Map()})
		return
	}
	_, err = s.admin.SaveLDAP(ctx, cur, f.S, f.Password, actor(r))
	var fe domain.FieldErrors
	if errors.As(err, &fe) {
		s.renderLDAP(w, r, http.StatusUnprocessableEntity, cur, templates.LDAPView{S: f.S, Errors: fe.Map()})
		return
	}
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
	s.redirectWithFlash(w, r, "/admin/ldap", ldapSavedFlash)
}
