package web

import (
	"crypto/x509"
	"net/http"
	"strconv"
	"strings"

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
	S             domain.LDAPSettings // cur with the form's values over it
	Password      string              // typed bind password, "" to keep the stored one
	ClearPassword bool
	Errors        map[string]string
}

// parseLDAPForm reads the form over the saved settings cur (which keeps the
// sealed password and the threshold permission) and checks it: the
// settings' own rules, whole numbers, and a CA certificate that parses.
func parseLDAPForm(r *http.Request, cur domain.LDAPSettings) (ldapForm, error) {
	if err := r.ParseForm(); err != nil {
		return ldapForm{}, domain.Errorf(domain.EINVALID, "The form could not be read: %v", err)
	}
	f := ldapForm{S: cur, Errors: map[string]string{}}
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	on := func(name string) bool { return r.PostFormValue(name) == "true" }
	num := func(name string, dst *int) {
		n, err := strconv.Atoi(v(name))
		if err != nil {
			f.Errors[name] = "Enter a whole number"
			return
		}
		*dst = n
	}
	s := &f.S
	s.URL, s.StartTLS, s.InsecureSkipVerify = v("url"), on("start_tls"), on("insecure_skip_verify")
	s.CACert = strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("ca_cert"), "\r\n", "\n"))
	s.BindDN, s.BaseDN, s.Scope = v("bind_dn"), v("base_dn"), v("scope")
	s.ActiveFilter, s.InactiveFilter, s.Preset = v("active_filter"), v("inactive_filter"), v("preset")
	num("page_size", &s.PageSize)
	num("connect_timeout_seconds", &s.ConnectTimeoutSeconds)
	num("search_timeout_seconds", &s.SearchTimeoutSeconds)
	num("deactivate_max_users", &s.DeactivateMaxUsers)
	num("deactivate_max_percent", &s.DeactivateMaxPercent)
	num("shrink_max_percent", &s.ShrinkMaxPercent)
	for _, field := range s.AttributeMap.Fields() {
		if err := s.AttributeMap.Set(field[0], v("attr_"+field[0])); err != nil {
			return ldapForm{}, err
		}
	}
	// The version the form was opened at, for optimistic locking.
	if n, err := strconv.Atoi(v("version")); err == nil {
		s.Version = n
	}
	// Not trimmed: spaces may belong to a password.
	f.Password = r.PostFormValue("bind_password")
	f.ClearPassword = on("clear_bind_password")

	for name, msg := range s.Validate() {
		if _, ok := f.Errors[name]; !ok {
			f.Errors[name] = msg
		}
	}
	if s.CACert != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(s.CACert)) {
		f.Errors["ca_cert"] = "This is not a PEM certificate: paste the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----"
	}
	if f.Password != "" && f.ClearPassword {
		f.Errors["bind_password"] = "Type a new password or remove the stored one, not both"
	}
	return f, nil
}
