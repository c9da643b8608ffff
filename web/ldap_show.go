package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) mountAdminLDAP(r chi.Router) {
	r.Get("/ldap", s.handleLDAPShow)
	r.Post("/ldap", s.handleLDAPSave)
	r.Post("/ldap/preset", s.handleLDAPPreset)
	r.Post("/ldap/test", s.handleLDAPTestConnection)
	r.Post("/ldap/override", s.handleLDAPOverride)
}

func (s *Server) handleLDAPShow(w http.ResponseWriter, r *http.Request) {
	cur, err := s.deps.Store.LDAPSettings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderLDAP(w, r, http.StatusOK, cur, templates.LDAPView{S: cur})
}

// renderLDAP shows the LDAP connection page with the values in v.S; cur is
// what is saved, for the "password is set" indicator and who saved last. The
// bind password is never rendered, whatever v.S holds.
func (s *Server) renderLDAP(w http.ResponseWriter, r *http.Request, status int, cur domain.LDAPSettings, v templates.LDAPView) {
	v.Chrome = s.chrome(r, "LDAP connection", templates.Crumb{Label: "Home", Href: "/admin"}, templates.Crumb{Label: "LDAP connection"})
	v.S.BindPasswordEnc = ""
	v.S.AllowNextPastThreshold = cur.AllowNextPastThreshold
	v.PasswordSet = cur.BindPasswordEnc != ""
	if cur.Version > 0 {
		v.UpdatedBy, v.UpdatedAt = cur.UpdatedBy, s.formatTime(cur.UpdatedAt)
	}
	s.render(w, r, status, templates.LDAPPage(v))
}

// ldapForm is the LDAP connection form as posted.
type ldapForm struct {
	S        domain.LDAPSettings // cur with the form's values over it
	Password domain.BindPassword // typed ("" keeps the stored one), or removed
	Errors   domain.FieldErrors  // fields the form could not even read
}

// readLDAPForm reads the saved settings cur and the form over them; cur
// keeps the sealed password and the threshold permission. It does not judge
// the values: each handler calls the domain rule it needs.
func (s *Server) readLDAPForm(r *http.Request) (cur domain.LDAPSettings, f ldapForm, err error) {
	if cur, err = s.deps.Store.LDAPSettings(r.Context()); err != nil {
		return cur, f, err
	}
	f, err = parseLDAPForm(r, cur)
	return cur, f, err
}

// parseLDAPForm reads the form over cur.
func parseLDAPForm(r *http.Request, cur domain.LDAPSettings) (ldapForm, error) {
	f, err := readForm(r)
	if err != nil {
		return ldapForm{}, err
	}
	lf := ldapForm{S: cur}
	s := &lf.S
	if s.Version, err = f.version(); err != nil {
		return ldapForm{}, err
	}
	s.URL, s.StartTLS, s.InsecureSkipVerify = f.text("url"), f.flag("start_tls"), f.flag("insecure_skip_verify")
	s.CACert = domain.CleanCACert(f.raw("ca_cert"))
	s.BindDN, s.BaseDN, s.Scope = f.text("bind_dn"), f.text("base_dn"), f.text("scope")
	s.ActiveFilter, s.InactiveFilter, s.Preset = f.text("active_filter"), f.text("inactive_filter"), f.text("preset")
	f.number("page_size", &s.PageSize)
	f.number("connect_timeout_seconds", &s.ConnectTimeoutSeconds)
	f.number("search_timeout_seconds", &s.SearchTimeoutSeconds)
	f.number("deactivate_max_users", &s.DeactivateMaxUsers)
	f.number("deactivate_max_percent", &s.DeactivateMaxPercent)
	f.number("shrink_max_percent", &s.ShrinkMaxPercent)
	for _, field := range s.AttributeMap.Fields() {
		if err := s.AttributeMap.Set(field[0], f.text("attr_"+field[0])); err != nil {
			return ldapForm{}, err
		}
	}
	// Not trimmed: spaces may belong to a password.
	lf.Password = domain.BindPassword{New: f.raw("bind_password"), Clear: f.flag("clear_bind_password")}
	lf.Errors = f.errs
	return lf, nil
}
