package domain

import (
	"fmt"
	"strings"
	"time"
)

// AttributeMap names the directory attribute that feeds each mapped field.
type AttributeMap struct {
	Username       string `gorm:"column:attr_username" json:"username"`
	StableID       string `gorm:"column:attr_stable_id" json:"stable_id"`
	GivenName      string `gorm:"column:attr_given_name" json:"given_name"`
	Surname        string `gorm:"column:attr_surname" json:"surname"`
	DisplayName    string `gorm:"column:attr_display_name" json:"display_name"`
	Email          string `gorm:"column:attr_email" json:"email"`
	Phone          string `gorm:"column:attr_phone" json:"phone"`
	Title          string `gorm:"column:attr_title" json:"title"`
	Department     string `gorm:"column:attr_department" json:"department"`
	EmployeeNumber string `gorm:"column:attr_employee_number" json:"employee_number"`
}

// Fields lists the mapping as (field name, attribute) pairs in display order.
func (m AttributeMap) Fields() [][2]string {
	return [][2]string{
		{"username", m.Username}, {"stable_id", m.StableID}, {"given_name", m.GivenName},
		{"surname", m.Surname}, {"display_name", m.DisplayName}, {"email", m.Email},
		{"phone", m.Phone}, {"title", m.Title}, {"department", m.Department},
		{"employee_number", m.EmployeeNumber},
	}
}

// Set assigns attribute attr to field; it reports an unknown field.
func (m *AttributeMap) Set(field, attr string) error {
	p := map[string]*string{
		"username": &m.Username, "stable_id": &m.StableID, "given_name": &m.GivenName,
		"surname": &m.Surname, "display_name": &m.DisplayName, "email": &m.Email,
		"phone": &m.Phone, "title": &m.Title, "department": &m.Department,
		"employee_number": &m.EmployeeNumber,
	}[field]
	if p == nil {
		return Invalid("map", "unknown mapped field %q: use one of %s", field, mappedFieldNames())
	}
	*p = attr
	return nil
}

// mappedFieldNames lists the mapped fields for a message.
func mappedFieldNames() string {
	var names []string
	for _, f := range (AttributeMap{}).Fields() {
		names = append(names, f[0])
	}
	return strings.Join(names, ", ")
}

// Attributes lists the distinct directory attributes to request.
func (m AttributeMap) Attributes() []string {
	seen := map[string]bool{}
	var attrs []string
	for _, f := range m.Fields() {
		if a := f[1]; a != "" && !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			attrs = append(attrs, a)
		}
	}
	return attrs
}

// Search scopes.
const (
	ScopeSub  = "sub"
	ScopeOne  = "one"
	ScopeBase = "base"
)

// LDAPSettings is the directory connection and the synchronization's limits.
// BindPasswordEnc holds the bind password encrypted with the secret key; the
// clear password never leaves the server.
type LDAPSettings struct {
	ID                     int    `gorm:"column:id;primaryKey"`
	URL                    string `gorm:"column:url"`
	StartTLS               bool   `gorm:"column:start_tls"`
	CACert                 string `gorm:"column:ca_cert"`
	InsecureSkipVerify     bool   `gorm:"column:insecure_skip_verify"`
	BindDN                 string `gorm:"column:bind_dn"`
	BindPasswordEnc        string `gorm:"column:bind_password_enc"`
	BaseDN                 string `gorm:"column:base_dn"`
	Scope                  string `gorm:"column:scope"`
	ActiveFilter           string `gorm:"column:active_filter"`
	InactiveFilter         string `gorm:"column:inactive_filter"`
	PageSize               int    `gorm:"column:page_size"`
	ConnectTimeoutSeconds  int    `gorm:"column:connect_timeout_seconds"`
	SearchTimeoutSeconds   int    `gorm:"column:search_timeout_seconds"`
	Preset                 string `gorm:"column:preset"`
	AttributeMap           `gorm:"embedded"`
	DeactivateMaxUsers     int       `gorm:"column:deactivate_max_users"`
	DeactivateMaxPercent   int       `gorm:"column:deactivate_max_percent"`
	ShrinkMaxPercent       int       `gorm:"column:shrink_max_percent"`
	AllowNextPastThreshold bool      `gorm:"column:allow_next_past_threshold"`
	Version                int       `gorm:"column:version"`
	UpdatedAt              time.Time `gorm:"column:updated_at"`
	UpdatedBy              string    `gorm:"column:updated_by"`
}

func (LDAPSettings) TableName() string { return "ldap_settings" }

// Configured reports whether enough is set to reach the directory.
func (s *LDAPSettings) Configured() bool { return s.URL != "" && s.BaseDN != "" }

// Presets for the two directories the product supports.
const (
	PresetActiveDirectory = "active_directory"
	PresetOpenLDAP        = "openldap"
)

// personAttributes are the mapped attributes both presets name alike: the
// person attributes of RFC 4519 and inetOrgPerson (RFC 2798), which Active
// Directory's schema has too. Each preset adds its own user name, stable
// id, department and employee number.
var personAttributes = AttributeMap{
	GivenName: "givenName", Surname: "sn", DisplayName: "displayName", Email: "mail",
	Phone: "telephoneNumber", Title: "title",
}

// ApplyPreset sets the filters and the attribute mapping of a preset.
func (s *LDAPSettings) ApplyPreset(name string) error {
	switch name {
	case PresetActiveDirectory:
		// People only: no computer accounts, and none of the critical
		// system objects (Administrator, Guest, krbtgt). Accounts past
		// accountExpires count as inactive at run time (JobFilters).
		s.ActiveFilter = "(&(objectCategory=person)(objectClass=user)(!(objectClass=computer))(!(isCriticalSystemObject=TRUE))(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"
		s.InactiveFilter = "(&(objectCategory=person)(objectClass=user)(!(objectClass=computer))(!(isCriticalSystemObject=TRUE))(userAccountControl:1.2.840.113556.1.4.803:=2))"
		s.AttributeMap = personAttributes
		s.Username, s.StableID, s.Department, s.EmployeeNumber = "sAMAccountName", "objectGUID", "department", "employeeID"
	case PresetOpenLDAP:
		s.ActiveFilter = "(&(objectClass=inetOrgPerson)(!(pwdAccountLockedTime=*)))"
		s.InactiveFilter = "(&(objectClass=inetOrgPerson)(pwdAccountLockedTime=*))"
		s.AttributeMap = personAttributes
		s.Username, s.StableID, s.Department, s.EmployeeNumber = "uid", "entryUUID", "departmentNumber", "employeeNumber"
	default:
		return Invalid("preset", "%s", unknownPreset(name))
	}
	s.Preset = name
	return nil
}

// DefaultLDAPSettings are the settings before an administrator saves any:
// the OpenLDAP preset, no URL.
func DefaultLDAPSettings() LDAPSettings {
	s := LDAPSettings{
		ID: 1, Scope: ScopeSub, PageSize: 500, ConnectTimeoutSeconds: 10, SearchTimeoutSeconds: 120,
		DeactivateMaxUsers: 500, DeactivateMaxPercent: 10, ShrinkMaxPercent: 20,
	}
	_ = s.ApplyPreset(PresetOpenLDAP)
	return s
}

// DeactivationFloor is the fewest users the percentage limit allows to be
// deactivated in one run. A share of a small organisation rounds down to
// nothing (10% of 9 active users is 0), which would stop every
// deactivation; the absolute limit still applies as set.
const DeactivationFloor = 5

// DeactivationLimit is the most users the inactive job may deactivate in one
// run: the lower of the absolute limit and the share of active users, the
// share never below DeactivationFloor.
func (s *LDAPSettings) DeactivationLimit(activeUsers int) int {
	byShare := max(activeUsers*s.DeactivateMaxPercent/100, DeactivationFloor)
	return min(s.DeactivateMaxUsers, byShare)
}

// DeactivationLimitRule says how DeactivationLimit(activeUsers) came
// about, for a message.
func (s *LDAPSettings) DeactivationLimitRule(activeUsers int) string {
	return fmt.Sprintf("the lower of %d users and %d%% of the %d active users, the share never below %d users",
		s.DeactivateMaxUsers, s.DeactivateMaxPercent, activeUsers, DeactivationFloor)
}

// String describes the connection without its secret.
func (s *LDAPSettings) String() string {
	return fmt.Sprintf("url=%s starttls=%t bind_dn=%q base_dn=%q", s.URL, s.StartTLS, s.BindDN, s.BaseDN)
}
