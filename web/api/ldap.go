package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"idm/internal/domain"
)

// LDAPConnection is the LDAP connection as an administrator sets it: the
// Admin form's fields, under the form's names (so the field of each refusal
// is the form's), without the bind password. The numbers' bounds in the
// schema are their columns' (INTEGER); the domain's rules are narrower.
type LDAPConnection struct {
	URL                   string `json:"url" doc:"ldap://host:389 or ldaps://host:636."`
	StartTLS              bool   `json:"start_tls"`
	CACert                string `json:"ca_cert" doc:"PEM certificates of the CAs to trust; empty for the system's."`
	InsecureSkipVerify    bool   `json:"insecure_skip_verify"`
	BindDN                string `json:"bind_dn"`
	BaseDN                string `json:"base_dn"`
	Scope                 string `json:"scope" doc:"sub, one or base."`
	ActiveFilter          string `json:"active_filter"`
	InactiveFilter        string `json:"inactive_filter"`
	PageSize              int    `json:"page_size" minimum:"-2147483648" maximum:"2147483647"`
	ConnectTimeoutSeconds int    `json:"connect_timeout_seconds" minimum:"-2147483648" maximum:"2147483647"`
	SearchTimeoutSeconds  int    `json:"search_timeout_seconds" minimum:"-2147483648" maximum:"2147483647"`
	Preset                string `json:"preset" doc:"active_directory, openldap or empty."`
	AttrUsername          string `json:"attr_username"`
	AttrStableID          string `json:"attr_stable_id"`
	AttrGivenName         string `json:"attr_given_name"`
	AttrSurname           string `json:"attr_surname"`
	AttrDisplayName       string `json:"attr_display_name"`
	AttrEmail             string `json:"attr_email"`
	AttrPhone             string `json:"attr_phone"`
	AttrTitle             string `json:"attr_title"`
	AttrDepartment        string `json:"attr_department"`
	AttrEmployeeNumber    string `json:"attr_employee_number"`
	DeactivateMaxUsers    int    `json:"deactivate_max_users" minimum:"-2147483648" maximum:"2147483647"`
	DeactivateMaxPercent  int    `json:"deactivate_max_percent" minimum:"-2147483648" maximum:"2147483647"`
	ShrinkMaxPercent      int    `json:"shrink_max_percent" minimum:"-2147483648" maximum:"2147483647"`
	Version               int    `json:"version" minimum:"0" maximum:"2147483647" doc:"Send it back with PUT: a change made against an older version is refused (409)."`
}

// LDAPSettings is the saved LDAP connection. The bind password is never
// sent back: bind_password_set says whether one is stored.
type LDAPSettings struct {
	LDAPConnection
	BindPasswordSet        bool      `json:"bind_password_set"`
	AllowNextPastThreshold bool      `json:"allow_next_past_threshold" doc:"Whether the next run may pass the deactivation limit (set on the Admin page)."`
	UpdatedAt              time.Time `json:"updated_at"`
	UpdatedBy              string    `json:"updated_by"`
}

type ldapPutInput struct {
	Body struct {
		LDAPConnection
		BindPassword      string `json:"bind_password,omitempty" writeOnly:"true" doc:"A new bind password; absent keeps the stored one, which a changed server, TLS setting or bind DN refuses."`
		ClearBindPassword bool   `json:"clear_bind_password,omitempty" doc:"Remove the stored bind password."`
	}
}

type ldapOutput struct {
	Body *LDAPSettings
}

func (s *server) registerLDAP() {
	huma.Register(s.api, s.operation(http.MethodGet, "/ldap", "get-ldap", "Read the LDAP connection", administrators), s.getLDAP)
	op := s.operation(http.MethodPut, "/ldap", "put-ldap", "Replace the LDAP connection", administrators, http.StatusConflict)
	op.Description = "Every field, as GET gives them, with the version. Refused (422, at each field) as the Admin form refuses: " +
		"in particular a changed server, TLS setting or bind DN needs bind_password again. Audited as done by the token."
	huma.Register(s.api, op, s.putLDAP)
}

func (s *server) getLDAP(ctx context.Context, _ *struct{}) (*ldapOutput, error) {
	cur, err := s.d.Store.LDAPSettings(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &ldapOutput{Body: ldapOf(&cur)}, nil
}

func (s *server) putLDAP(ctx context.Context, in *ldapPutInput) (*ldapOutput, error) {
	cur, err := s.d.Store.LDAPSettings(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	next := in.Body.LDAPConnection.applyTo(cur)
	pw := domain.BindPassword{New: in.Body.BindPassword, Clear: in.Body.ClearBindPassword}
	saved, err := s.d.Admin.SaveLDAP(ctx, cur, next, pw, actor(ctx))
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &ldapOutput{Body: ldapOf(&saved)}, nil
}

// applyTo is cur with c's values: what is not the form's (the stored
// password, the threshold override) stays as it is.
func (c *LDAPConnection) applyTo(cur domain.LDAPSettings) domain.LDAPSettings {
	s := cur
	s.URL, s.StartTLS, s.CACert, s.InsecureSkipVerify = c.URL, c.StartTLS, domain.CleanCACert(c.CACert), c.InsecureSkipVerify
	s.BindDN, s.BaseDN, s.Scope, s.ActiveFilter, s.InactiveFilter = c.BindDN, c.BaseDN, c.Scope, c.ActiveFilter, c.InactiveFilter
	s.PageSize, s.ConnectTimeoutSeconds, s.SearchTimeoutSeconds, s.Preset = c.PageSize, c.ConnectTimeoutSeconds, c.SearchTimeoutSeconds, c.Preset
	s.AttributeMap = domain.AttributeMap{
		Username: c.AttrUsername, StableID: c.AttrStableID, GivenName: c.AttrGivenName, Surname: c.AttrSurname,
		DisplayName: c.AttrDisplayName, Email: c.AttrEmail, Phone: c.AttrPhone, Title: c.AttrTitle,
		Department: c.AttrDepartment, EmployeeNumber: c.AttrEmployeeNumber,
	}
	s.DeactivateMaxUsers, s.DeactivateMaxPercent, s.ShrinkMaxPercent = c.DeactivateMaxUsers, c.DeactivateMaxPercent, c.ShrinkMaxPercent
	s.Version = c.Version
	return s
}

func ldapOf(s *domain.LDAPSettings) *LDAPSettings {
	m := s.AttributeMap
	return &LDAPSettings{
		LDAPConnection: LDAPConnection{
			URL: s.URL, StartTLS: s.StartTLS, CACert: s.CACert, InsecureSkipVerify: s.InsecureSkipVerify,
			BindDN: s.BindDN, BaseDN: s.BaseDN, Scope: s.Scope, ActiveFilter: s.ActiveFilter, InactiveFilter: s.InactiveFilter,
			PageSize: s.PageSize, ConnectTimeoutSeconds: s.ConnectTimeoutSeconds, SearchTimeoutSeconds: s.SearchTimeoutSeconds, Preset: s.Preset,
			AttrUsername: m.Username, AttrStableID: m.StableID, AttrGivenName: m.GivenName, AttrSurname: m.Surname,
			AttrDisplayName: m.DisplayName, AttrEmail: m.Email, AttrPhone: m.Phone, AttrTitle: m.Title,
			AttrDepartment: m.Department, AttrEmployeeNumber: m.EmployeeNumber,
			DeactivateMaxUsers: s.DeactivateMaxUsers, DeactivateMaxPercent: s.DeactivateMaxPercent, ShrinkMaxPercent: s.ShrinkMaxPercent,
			Version: s.Version,
		},
		BindPasswordSet: s.BindPasswordEnc != "", AllowNextPastThreshold: s.AllowNextPastThreshold,
		UpdatedAt: s.UpdatedAt, UpdatedBy: s.UpdatedBy,
	}
}
