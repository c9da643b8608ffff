package domain

import (
	"net"
	"strings"
)

// BindPassword is what one submission of the LDAP connection says about the
// bind password: a new one typed (New), the stored one removed (Clear), or
// neither, which keeps the stored one.
type BindPassword struct {
	New   string
	Clear bool
}

// Validate checks the password input on its own.
func (pw BindPassword) Validate() error {
	var errs FieldErrors
	if pw.New != "" && pw.Clear {
		errs.Add("bind_password", "Enter a new password or remove the stored one, not both")
	} else if p := textProblem(pw.New, MaxBindPasswordLength); p != "" {
		errs.Add("bind_password", "The password %s.", p)
	}
	return errs.Err()
}

// passwordAgain is why a changed server or bind DN needs the password.
const passwordAgain = "The server, its TLS settings or the bind DN changed: enter the bind password again " +
	"(or remove the stored one). A stored password is only ever sent to the server it was saved for."

// ValidateLDAPChange checks next, the settings submitted to replace cur (what
// is saved), with what the submission says about the password: next's own
// rules, the password input's, and one more: keeping the stored password
// while the server or the bind DN changes is refused (see
// StoredPasswordFits). The Admin form, idm ldap configure and the API all
// save through this check.
func ValidateLDAPChange(cur, next LDAPSettings, pw BindPassword) error {
	var errs FieldErrors
	errs.Merge(next.Validate())
	if err := pw.Validate(); err != nil {
		errs.Merge(err)
	} else if pw.New == "" && !pw.Clear && cur.BindPasswordEnc != "" && !StoredPasswordFits(cur, next) {
		errs.Add("bind_password", "%s", passwordAgain)
	}
	return errs.Err()
}

// StoredPasswordFits reports whether the password stored with cur may be sent
// with next: to the same server (scheme, host and port, the default port
// counting as written), over the same TLS (StartTLS, certificate
// verification not newly switched off, the same CA), as the same bind DN.
// A saved password never follows a changed address, so an administrator's
// session cannot be used to send it to another host.
func StoredPasswordFits(cur, next LDAPSettings) bool {
	a, okA := serverOf(cur.URL)
	b, okB := serverOf(next.URL)
	return okA && okB && a == b &&
		cur.StartTLS == next.StartTLS &&
		(cur.InsecureSkipVerify || !next.InsecureSkipVerify) &&
		strings.TrimSpace(cur.CACert) == strings.TrimSpace(next.CACert) &&
		cur.BindDN == next.BindDN
}

// serverOf is a URL's scheme, host (lower case) and port (the scheme's
// default when none is written).
func serverOf(raw string) (string, bool) {
	u, msg := parseLDAPURL(raw)
	if msg != "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"ldap": "389", "ldaps": "636"}[u.Scheme]
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}
