package domain

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FieldError is what is wrong with one input field. Field is the name the
// Admin form posts it under (url, active_filter, attr_username, expression);
// the command line maps it to its flag. Message is a sentence a person can
// act on, without the field's name.
type FieldError struct {
	Field   string
	Message string
}

// FieldErrors are the problems found in one submission, in the order the
// fields were checked. Its code is EINVALID: ErrorCode and ErrorMessage know
// it, so every entry point shows it as it shows any other bad input.
type FieldErrors []FieldError

// Invalid returns an error about one field.
func Invalid(field, format string, args ...any) FieldErrors {
	return FieldErrors{{Field: field, Message: fmt.Sprintf(format, args...)}}
}

// Add records a problem with field.
func (e *FieldErrors) Add(field, format string, args ...any) {
	*e = append(*e, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Merge adds the problems of err, which is nil or holds FieldErrors; any
// other error is recorded under the field "".
func (e *FieldErrors) Merge(err error) {
	var fe FieldErrors
	switch {
	case err == nil:
	case errors.As(err, &fe):
		*e = append(*e, fe...)
	default:
		e.Add("", "%s", ErrorMessage(err))
	}
}

// Err returns nil when there is no problem, else e: a nil FieldErrors
// returned as an error would not compare equal to nil.
func (e FieldErrors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Has reports whether field has a problem.
func (e FieldErrors) Has(field string) bool {
	for _, fe := range e {
		if fe.Field == field {
			return true
		}
	}
	return false
}

// Map gives each field its first message, as the forms show them.
func (e FieldErrors) Map() map[string]string {
	m := make(map[string]string, len(e))
	for _, fe := range e {
		if _, ok := m[fe.Field]; !ok {
			m[fe.Field] = fe.Message
		}
	}
	return m
}

// Text is the problems as one line: the message alone for one problem,
// "field: message; field: message" for several.
func (e FieldErrors) Text() string {
	if len(e) == 1 {
		return e[0].Message
	}
	parts := make([]string, len(e))
	for i, fe := range e {
		parts[i] = fe.Field + ": " + fe.Message
	}
	return strings.Join(parts, "; ")
}

func (e FieldErrors) Error() string { return EINVALID + ": " + e.Text() }

// Column widths, in characters, of the columns that hold what people type
// (migrations/00001_schema.sql). A value longer than its column is refused,
// never truncated.
const (
	MaxURLLength            = 512  // ldap_settings.url
	MaxDNLength             = 1024 // ldap_settings.bind_dn, base_dn; users.dn
	MaxAttributeNameLength  = 128  // ldap_settings.attr_*
	MaxCronExpressionLength = 256  // batch_jobs.cron_expression
	MaxUsernameLength       = 256  // users.username
	MaxRunIDLength          = 36   // job_runs.id
	MaxUserIDLength         = 36   // users.id
	MaxWebhookIDLength      = 36   // webhooks.id (00004_notifications.sql)
	MaxSerialLength         = 128  // credentials.serial, certificates.serial
	MaxRoleNameLength       = 128  // roles.name
	MaxRevocationReason     = 64   // certificates.revocation_reason
)

// Limits for values stored in TEXT columns, which have no width of their
// own: generous for any real value, small enough to refuse a pasted book.
const (
	MaxFilterLength       = 4096
	MaxCACertLength       = 65536
	MaxBindPasswordLength = 1024
	MaxSearchTextLength   = MaxUsernameLength
)

// The text rules below say why a value cannot be stored, as a phrase that
// follows the value's name ("contains a NUL byte"), or "" when it can.
// valueMessage makes a field's message of one.

// valueMessage is the message at a field whose value has problem p.
func valueMessage(p string) string { return "The value " + p + "." }

// lineProblem: one line of text of at most max characters.
func lineProblem(value string, max int) string {
	if p := lineTextProblem(value); p != "" {
		return p
	}
	return lengthProblem(value, max)
}

// textProblem: text of at most max characters that may span lines (a PEM
// certificate).
func textProblem(value string, max int) string {
	if p := encodingProblem(value); p != "" {
		return p
	}
	if strings.IndexFunc(value, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0 {
		return "contains a control character"
	}
	return lengthProblem(value, max)
}

// LineTextProblem is the rule for one line of stored text that comes from
// outside a form (a directory's attribute values): UTF-8 with no NUL byte,
// line break or other control character.
func LineTextProblem(value string) string { return lineTextProblem(value) }

// lineTextProblem: one line of text, of any length.
func lineTextProblem(value string) string {
	if printableASCII(value) {
		return ""
	}
	if p := encodingProblem(value); p != "" {
		return p
	}
	if i := controlAt(value); i >= 0 {
		r, _ := utf8.DecodeRuneInString(value[i:])
		return fmt.Sprintf("contains a line break or another control character (%U)", r)
	}
	return ""
}

// printableASCII reports whether value is only bytes 0x20–0x7E: text with
// no control character, one character a byte. Most directory values are,
// and one pass decides them instead of the three the general rule takes.
func printableASCII(value string) bool {
	for i := 0; i < len(value); i++ {
		if b := value[i]; b < 0x20 || b > 0x7e {
			return false
		}
	}
	return true
}

// controlAt is the index in value, valid UTF-8, of its first control
// character as unicode.IsControl has them (U+0000–U+001F, U+007F–U+009F),
// or -1. It reads bytes instead of decoding runes: every value of every
// directory entry and import record passes here, and the C1 controls are
// the only ones beyond ASCII, all encoded as 0xC2 followed by 0x80–0x9F.
func controlAt(value string) int {
	for i := 0; i < len(value); i++ {
		switch b := value[i]; {
		case b < 0x20 || b == 0x7f:
			return i
		case b == 0xc2 && i+1 < len(value) && value[i+1] >= 0x80 && value[i+1] <= 0x9f:
			return i
		}
	}
	return -1
}

// encodingProblem says why value is not text any column can hold: not
// UTF-8 (PostgreSQL refuses it, SQLite would store it), or a NUL byte
// (PostgreSQL refuses it, SQLite cuts the value there).
func encodingProblem(value string) string {
	switch {
	case !utf8.ValidString(value):
		return "is not valid UTF-8 text"
	case strings.IndexByte(value, 0) >= 0:
		return "contains a NUL byte"
	}
	return ""
}

// lengthProblem says that value is longer than max characters (PostgreSQL
// counts VARCHAR widths in characters, not bytes).
func lengthProblem(value string, max int) string {
	// A character is at least a byte: a value of at most max bytes fits
	// without counting.
	if len(value) <= max {
		return ""
	}
	if n := utf8.RuneCountInString(value); n > max {
		return fmt.Sprintf("is %d characters long; at most %d fit", n, max)
	}
	return ""
}
