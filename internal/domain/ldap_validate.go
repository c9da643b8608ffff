package domain

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Bounds of the numeric settings. Each fits the INTEGER column it is stored
// in on both databases (PostgreSQL's is 32 bits).
const (
	MaxPageSize              = 5000
	MaxConnectTimeoutSeconds = 300
	MaxSearchTimeoutSeconds  = 3600
	MaxDeactivateUsers       = 1_000_000_000
)

// Validate checks the settings as an administrator entered them, whatever
// the entry point (the Admin form, idm ldap configure, the API): every
// problem, each at its field, as FieldErrors; nil when they can be saved.
func (s *LDAPSettings) Validate() error {
	var errs FieldErrors
	s.checkServer(&errs)
	s.checkSearch(&errs)
	s.checkMapping(&errs)
	s.checkLimits(&errs)
	return errs.Err()
}

func (s *LDAPSettings) checkServer(errs *FieldErrors) {
	if u, msg := parseLDAPURL(s.URL); msg != "" {
		errs.Add("url", "%s", msg)
	} else if s.StartTLS && u.Scheme == "ldaps" {
		errs.Add("start_tls", "StartTLS applies to ldap:// URLs; ldaps:// is already encrypted")
	}
	if s.CACert != "" {
		if _, err := ParseCACertificates(s.CACert); err != nil {
			errs.Add("ca_cert", "%s", ErrorMessage(err))
		}
	}
	if p := lineProblem(s.BindDN, MaxDNLength); p != "" {
		errs.Add("bind_dn", "%s", valueMessage(p))
	}
}

func (s *LDAPSettings) checkSearch(errs *FieldErrors) {
	if s.BaseDN == "" {
		errs.Add("base_dn", "Base DN is required, for example dc=example,dc=com")
	} else if p := lineProblem(s.BaseDN, MaxDNLength); p != "" {
		errs.Add("base_dn", "%s", valueMessage(p))
	} else if msg := baseDNProblem(s.BaseDN); msg != "" {
		errs.Add("base_dn", "%s", msg)
	}
	switch s.Scope {
	case ScopeSub, ScopeOne, ScopeBase:
	default:
		errs.Add("scope", "Scope must be sub, one or base")
	}
	if p := FilterProblem(s.ActiveFilter); p != "" {
		errs.Add("active_filter", "%s", p)
	}
	if p := FilterProblem(s.InactiveFilter); p != "" {
		errs.Add("inactive_filter", "%s", p)
	}
	switch s.Preset {
	case "", PresetActiveDirectory, PresetOpenLDAP:
	default:
		errs.Add("preset", "%s", unknownPreset(s.Preset))
	}
}

func (s *LDAPSettings) checkMapping(errs *FieldErrors) {
	if s.Username == "" {
		errs.Add("attr_username", "The username attribute is required")
	}
	for _, f := range s.AttributeMap.Fields() {
		if f[1] == "" {
			continue
		}
		if p := lineProblem(f[1], MaxAttributeNameLength); p != "" {
			errs.Add("attr_"+f[0], "%s", valueMessage(p))
		} else if !ValidAttributeName(f[1]) {
			errs.Add("attr_"+f[0], "%q is not an attribute name: %s", f[1], attributeNameHint)
		}
	}
}

func (s *LDAPSettings) checkLimits(errs *FieldErrors) {
	within := func(field string, n, lo, hi int, msg string) {
		if n < lo || n > hi {
			errs.Add(field, "%s", msg)
		}
	}
	within("page_size", s.PageSize, 1, MaxPageSize, fmt.Sprintf("Page size must be between 1 and %d", MaxPageSize))
	within("connect_timeout_seconds", s.ConnectTimeoutSeconds, 1, MaxConnectTimeoutSeconds,
		fmt.Sprintf("Connect timeout must be between 1 and %d seconds", MaxConnectTimeoutSeconds))
	within("search_timeout_seconds", s.SearchTimeoutSeconds, 1, MaxSearchTimeoutSeconds,
		fmt.Sprintf("Search timeout must be between 1 and %d seconds", MaxSearchTimeoutSeconds))
	within("deactivate_max_users", s.DeactivateMaxUsers, 0, MaxDeactivateUsers,
		fmt.Sprintf("Must be between 0 and %d", MaxDeactivateUsers))
	within("deactivate_max_percent", s.DeactivateMaxPercent, 0, 100, "Must be between 0 and 100")
	within("shrink_max_percent", s.ShrinkMaxPercent, 0, 100, "Must be between 0 and 100")
}

// baseDNProblem says why dn is not a distinguished name the directory can
// search under, or "": go-ldap must read it, and every attribute type in it
// must be an attribute name (go-ldap reads "*)(uid" as one).
func baseDNProblem(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return "Base DN must be a distinguished name such as dc=example,dc=com: " + err.Error()
	}
	for _, rdn := range parsed.RDNs {
		for _, a := range rdn.Attributes {
			if !ValidAttributeName(a.Type) {
				return fmt.Sprintf("Base DN names %q, which is not an attribute name: %s", a.Type, attributeNameHint)
			}
		}
	}
	return ""
}

func unknownPreset(name string) string {
	return fmt.Sprintf("unknown preset %q: use %s or %s", name, PresetActiveDirectory, PresetOpenLDAP)
}

// parseLDAPURL checks a directory URL: ldap:// or ldaps://, a host, an
// optional port from 1 to 65535, and nothing else. It returns the parsed
// URL, or the reason it is not one.
func parseLDAPURL(raw string) (*url.URL, string) {
	const shape = "URL must look like ldap://host:389 or ldaps://host:636"
	if raw == "" {
		return nil, "URL is required, for example ldaps://dc1.example.com:636"
	}
	if p := lineProblem(raw, MaxURLLength); p != "" {
		return nil, valueMessage(p)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Hostname() == "" {
		return nil, shape
	}
	if u.User != nil {
		return nil, "URL must not hold a user name or password: put them in Bind DN and Bind password"
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, shape + ", without a path or query"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Sprintf("Port %s is out of range: use 1 to 65535 (389 for ldap://, 636 for ldaps://)", p)
		}
	}
	return u, ""
}

// CleanCACert is a pasted or read CA certificate as it is stored: without
// surrounding space, with Unix line ends.
func CleanCACert(text string) string {
	return strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
}

// ParseCACertificates reads text as the directory client trusts it: PEM
// blocks, each a CERTIFICATE that crypto/x509 parses. A block x509 refuses
// is reported with x509's own reason (a negative serial number, as Samba
// writes about half the time, is one). Text around the blocks (openssl
// x509 -text writes a description there) is ignored, as Go's certificate
// pools ignore it.
func ParseCACertificates(text string) ([]*x509.Certificate, error) {
	if p := textProblem(text, MaxCACertLength); p != "" {
		return nil, Invalid("ca_cert", "%s", valueMessage(p))
	}
	var certs []*x509.Certificate
	rest := []byte(text)
	for n := 1; ; n++ {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		switch {
		case strings.Contains(block.Type, "PRIVATE KEY"):
			return nil, Invalid("ca_cert", "Block %d is a private key: never give a private key here, only the certificate of the authority that signed the directory's certificate.", n)
		case block.Type != "CERTIFICATE":
			return nil, Invalid("ca_cert", "Block %d is a %s, not a CERTIFICATE: give the certificate of the authority that signed the directory's certificate.", n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			msg := fmt.Sprintf("Certificate %d cannot be read: %v", n, err)
			if strings.Contains(err.Error(), "negative serial") {
				// Only when GODEBUG overrides go.mod's x509negativeserial=1.
				msg += " (Samba writes such serials; this program accepts them unless GODEBUG sets x509negativeserial=0)"
			}
			return nil, Invalid("ca_cert", "%s", msg)
		}
		certs = append(certs, c)
	}
	switch {
	case strings.Contains(string(rest), "-----BEGIN"):
		return nil, Invalid("ca_cert", "Block %d is not valid PEM: copy it again whole, from its -----BEGIN line to its -----END line.", len(certs)+1)
	case len(certs) == 0:
		return nil, Invalid("ca_cert", "This is not a PEM certificate: it must hold the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.")
	}
	return certs, nil
}
