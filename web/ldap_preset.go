package web

import (
	"net/http"

	"idm/internal/domain"
	"idm/templates"
)

// handleLDAPPreset fills the form's filters and attribute mapping from a
// preset and shows the form again, unsaved.
func (s *Server) handleLDAPPreset(w http.ResponseWriter, r *http.Request) {
	cur, f, err := s.readLDAPForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := f.S.ApplyPreset(r.PostFormValue("apply_preset")); err != nil {
		var errs domain.FieldErrors
		errs.Merge(err)
		s.renderLDAP(w, r, http.StatusUnprocessableEntity, cur, templates.LDAPView{S: f.S, Errors: errs.Map()})
		return
	}
	name, note := "OpenLDAP", ""
	if f.S.Preset == domain.PresetActiveDirectory {
		name, note = "Active Directory", " "+domain.ActiveDirectoryPresetNote
	}
	notice := "The " + name + " preset filled in the filters and the attribute mapping." + note + " Nothing is saved yet: review them and click Save."
	if f.Password.New != "" {
		notice += " Type the bind password again: it is never shown back."
	}
	// No field messages: the form is not being saved, and a half-filled
	// form is normal while a preset is chosen. Save checks every field.
	s.renderLDAP(w, r, http.StatusOK, cur, templates.LDAPView{S: f.S, Notice: notice})
}
