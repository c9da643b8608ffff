package domain

import (
	"fmt"
	"unicode/utf8"
)

// The rules for people, credentials, certificates and roles loaded from
// outside (idm import, and the API to come). Each message names the field at
// fault; At puts where the value sits in the record in front of it.

// At returns err with where in front of its message ("credentials[0]:
// serial must be …"), keeping its code.
func At(where string, err error) error {
	if err == nil {
		return nil
	}
	return Errorf(ErrorCode(err), "%s: %s", where, ErrorMessage(err))
}

// CheckRecordText checks one line of an import file before it is decoded:
// it must be UTF-8, which the JSON decoder would otherwise replace silently
// with U+FFFD.
func CheckRecordText(line []byte) error {
	if i := invalidUTF8At(line); i >= 0 {
		return Errorf(EINVALID, "the line is not valid UTF-8 text (byte %d, 0x%02x, is not); convert the file to UTF-8", i+1, line[i])
	}
	return nil
}

// CheckBodyText checks a request body before it is decoded (the API's
// JSON): it must be UTF-8 (RFC 8259), which Go's JSON decoder would
// otherwise replace silently with U+FFFD, storing text nobody sent. A body
// that is not is malformed: it cannot be read.
func CheckBodyText(body []byte) error {
	if i := invalidUTF8At(body); i >= 0 {
		return Errorf(EMALFORMED, "The request body is not valid UTF-8 text (byte %d, 0x%02x, is not): send JSON in UTF-8.", i+1, body[i])
	}
	return nil
}

// invalidUTF8At is the index of b's first byte that is not UTF-8, or -1.
func invalidUTF8At(b []byte) int {
	if utf8.Valid(b) { // the usual case, read eight ASCII bytes at a time
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// ParseUserState accepts active or inactive.
func ParseUserState(s string) (UserState, error) {
	switch st := UserState(s); st {
	case UserActive, UserInactive:
		return st, nil
	}
	return "", Errorf(EINVALID, "state %q: use active or inactive", s)
}

// ValidateUserSource accepts the two sources a user can come from.
func ValidateUserSource(s string) error {
	if s != SourceImport && s != SourceLDAP {
		return Errorf(EINVALID, "source %q: use import or ldap", s)
	}
	return nil
}

// ValidateCredential checks a credential's type, serial and state.
func ValidateCredential(c Credential) error {
	switch {
	case !c.Type.Valid():
		return Errorf(EINVALID, "type %q: use card, temporary_card, virtual_smart_card, mobile_id or soft_token", c.Type)
	case c.Serial == "" || utf8.RuneCountInString(c.Serial) > MaxSerialLength:
		return Errorf(EINVALID, "serial must be 1 to %d characters", MaxSerialLength)
	case lineTextProblem(c.Serial) != "":
		return Errorf(EINVALID, "serial %s", lineTextProblem(c.Serial))
	case !c.State.Valid():
		return Errorf(EINVALID, "state %q: use active, inactive or locked", c.State)
	}
	return nil
}

// ValidateCertificate checks a certificate's text fields (each within its
// column), its validity period and its state.
func ValidateCertificate(c Certificate) error {
	reason := ""
	if c.RevocationReason != nil {
		reason = *c.RevocationReason
	}
	for _, f := range []struct {
		name, value string
		min, max    int
	}{
		{"serial", c.Serial, 1, MaxSerialLength},
		{"issuer", c.Issuer, 1, MaxDNLength},
		{"subject", c.Subject, 0, MaxDNLength},
		{"revocation_reason", reason, 0, MaxRevocationReason},
	} {
		if err := checkRecordField(f.name, f.value, f.min, f.max); err != nil {
			return err
		}
	}
	switch {
	case c.NotBefore.IsZero() || c.NotAfter.IsZero():
		return Errorf(EINVALID, "not_before and not_after are required (RFC 3339 times)")
	case !c.NotAfter.After(c.NotBefore):
		return Errorf(EINVALID, "not_after must be after not_before")
	case !c.State.Valid():
		return Errorf(EINVALID, "state %q: use active, on_hold, revoked or expired", c.State)
	}
	return nil
}

// ValidateRoleName checks a role's name: one line of 1 to 128 characters.
func ValidateRoleName(name string) error {
	return checkRecordField("a role name", name, 1, MaxRoleNameLength)
}

// checkRecordField checks one text field of a record: one line of min to
// max characters.
func checkRecordField(name, value string, min, max int) error {
	n := utf8.RuneCountInString(value)
	switch {
	case n < min || n > max:
		return Errorf(EINVALID, "%s must be %s characters", name, span(min, max))
	case lineTextProblem(value) != "":
		return Errorf(EINVALID, "%s %s", name, lineTextProblem(value))
	}
	return nil
}

func span(min, max int) string {
	if min == 0 {
		return fmt.Sprintf("at most %d", max)
	}
	return fmt.Sprintf("%d to %d", min, max)
}
