package directory

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
)

// EntryError is why a directory entry could not be mapped, with what could
// be read of it: its DN, its stable identifier and its username (either
// may be empty), so that a run can name the entry and its user once, and
// never mistake the user for one the directory no longer returns.
type EntryError struct {
	DN, DirectoryID, Username string
	// Err is a domain.EINVALID error whose message names the attribute.
	Err error
}

// Error is the message alone: it is meant for the person reading the run.
func (e *EntryError) Error() string { return domain.ErrorMessage(e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

// MapEntry turns a directory entry into a Person through the attribute map.
// Attribute names match case-insensitively and the first value counts. The
// stable identifier is normalised so that it compares equal run after run:
// objectGUID (16 binary bytes) becomes the GUID string as Active Directory
// tools show it, entryUUID is lower-cased. Values are trimmed; a value that
// is not UTF-8 or holds control characters is refused with an error naming
// the attribute, and so are an entry without a username and a Person that
// domain.ValidatePerson rejects. On error the Person is zero and the error
// is an *EntryError.
func MapEntry(e *ldap.Entry, m domain.AttributeMap) (domain.Person, error) {
	if e == nil {
		return domain.Person{}, &EntryError{Err: domain.Errorf(domain.EINVALID, "empty directory entry")}
	}
	var raw rawEntry
	fromLDAPEntry(e, &raw)
	_, p, err := newMapper(m).mapEntry(&raw)
	return p, err
}

// fromLDAPEntry views a go-ldap entry as the streaming reader's entries are
// viewed, so that both readers feed the same mapper.
func fromLDAPEntry(e *ldap.Entry, raw *rawEntry) {
	raw.reset([]byte(e.DN))
	for _, a := range e.Attributes {
		first := len(raw.pool)
		raw.pool = append(raw.pool, a.ByteValues...)
		raw.attrs = append(raw.attrs, rawAttr{name: []byte(a.Name), first: first, end: len(raw.pool)})
	}
}

// The fields of a Person that attributes fill, in the order MapEntry checks
// them; fieldStableID is the directory ID, normalised apart.
const (
	fieldUsername = iota
	fieldGivenName
	fieldSurname
	fieldDisplayName
	fieldEmail
	fieldPhone
	fieldTitle
	fieldDepartment
	fieldEmployeeNumber
	fieldStableID
	numFields
)

// mapper maps decoded entries through one attribute map. It is built once
// per search; mapping an entry copies only the values it keeps, into one
// string.
type mapper struct {
	names     [numFields]string // the attribute of each field, "" when unmapped
	nameBytes [numFields][]byte
	guid      bool // the stable ID is objectGUID: 16 binary bytes
	uuid      bool // the stable ID is entryUUID: lower-cased
}

func newMapper(m domain.AttributeMap) *mapper {
	mp := &mapper{names: [numFields]string{
		m.Username, m.GivenName, m.Surname, m.DisplayName, m.Email, m.Phone,
		m.Title, m.Department, m.EmployeeNumber, m.StableID,
	}}
	for i, n := range mp.names {
		mp.nameBytes[i] = []byte(n)
	}
	mp.guid = strings.EqualFold(m.StableID, "objectGUID")
	mp.uuid = strings.EqualFold(m.StableID, "entryUUID")
	return mp
}

// firstValues finds, for each mapped field, the first value of the first
// attribute whose name matches (go-ldap's GetEqualFoldRawAttributeValue):
// an attribute present without values gives the empty value.
func (mp *mapper) firstValues(e *rawEntry, vals *[numFields][]byte) {
	var found [numFields]bool
	for i, a := range e.attrs {
		for f := range mp.names {
			if found[f] || mp.names[f] == "" || !sameName(a.name, mp.nameBytes[f]) {
				continue
			}
			found[f] = true
			if a.end > a.first {
				vals[f] = e.values(i)[0]
			}
		}
	}
}

// sameName is bytes.EqualFold with a shortcut for the usual miss: two
// names whose first bytes are ASCII letters of different case-folded value
// cannot match.
func sameName(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	x, y := a[0]|0x20, b[0]|0x20
	if a[0] < 0x80 && b[0] < 0x80 && x != y && 'a' <= x && x <= 'z' && 'a' <= y && y <= 'z' {
		return false
	}
	return bytes.EqualFold(a, b)
}

// mapEntry returns the entry's DN as a string and the Person it maps to,
// with MapEntry's rules. The DN and every kept value are copied into one
// allocation, which the returned strings share.
func (mp *mapper) mapEntry(e *rawEntry) (string, domain.Person, error) {
	var vals [numFields][]byte
	mp.firstValues(e, &vals)
	var guid [36]byte
	guidLen := 0 // the raw objectGUID's length, checked in its turn
	size := len(e.dn)
	for f := range vals {
		switch {
		case f == fieldStableID && mp.guid:
			raw := vals[f]
			guidLen, vals[f] = len(raw), nil
			if guidLen == 16 {
				vals[f] = appendGUID(guid[:0], raw)
			}
		default:
			vals[f] = bytes.TrimSpace(vals[f])
		}
		size += len(vals[f])
	}
	var b strings.Builder
	b.Grow(size)
	b.Write(e.dn)
	for _, v := range vals {
		b.Write(v)
	}
	all := b.String()
	dn, rest := all[:len(e.dn)], all[len(e.dn):]
	var s [numFields]string
	for f, v := range vals {
		s[f], rest = rest[:len(v)], rest[len(v):]
	}
	p, err := mp.check(dn, &s, guidLen)
	return dn, p, err
}

// check applies MapEntry's checks, in its order, to the copied values. Its
// error is an *EntryError with whatever of the entry could be read.
func (mp *mapper) check(dn string, s *[numFields]string, guidLen int) (domain.Person, error) {
	if reason := badText(dn); reason != "" {
		dn = strings.ToValidUTF8(dn, "\uFFFD")
		return domain.Person{}, &EntryError{DN: dn, Err: domain.Errorf(domain.EINVALID, "entry %q: the DN %s", dn, reason)}
	}
	id, idErr := mp.stableID(s[fieldStableID], guidLen)
	fail := func(err error) (domain.Person, error) {
		e := &EntryError{DN: dn, DirectoryID: id, Err: err}
		if badText(s[fieldUsername]) == "" {
			e.Username = s[fieldUsername]
		}
		return domain.Person{}, e
	}
	if idErr != nil {
		return fail(idErr)
	}
	for f := range fieldStableID {
		if mp.names[f] == "" {
			continue
		}
		if reason := badText(s[f]); reason != "" {
			return fail(domain.Errorf(domain.EINVALID, "attribute %s %s", mp.names[f], reason))
		}
	}
	if s[fieldUsername] == "" {
		return fail(domain.Errorf(domain.EINVALID, "the entry has no %s, which is mapped to the username", mp.names[fieldUsername]))
	}
	p := domain.Person{
		DN: dn, DirectoryID: id, Username: s[fieldUsername], GivenName: s[fieldGivenName], Surname: s[fieldSurname],
		DisplayName: s[fieldDisplayName], Email: s[fieldEmail], Phone: s[fieldPhone], Title: s[fieldTitle],
		Department: s[fieldDepartment], EmployeeNumber: s[fieldEmployeeNumber],
	}
	if err := domain.ValidatePerson(p); err != nil {
		return fail(err)
	}
	return p, nil
}

// stableID checks and normalises the stable identifier: v is already
// trimmed, or formatted when it is an objectGUID of guidLen raw bytes.
func (mp *mapper) stableID(v string, guidLen int) (string, error) {
	attr := mp.names[fieldStableID]
	switch {
	case attr == "":
		return "", nil
	case mp.guid:
		if guidLen != 0 && guidLen != 16 {
			return "", domain.Errorf(domain.EINVALID, "attribute %s is %d bytes, not the 16 of a GUID", attr, guidLen)
		}
		return v, nil
	}
	if reason := badText(v); reason != "" {
		return "", domain.Errorf(domain.EINVALID, "attribute %s %s", attr, reason)
	}
	if mp.uuid {
		// RFC 4530 compares UUIDs case-insensitively; one case keeps matches exact.
		v = strings.ToLower(v)
	}
	return v, nil
}

// FormatGUID formats a 16-byte Active Directory objectGUID the way AD tools
// show it: the first three groups are little-endian, the rest in byte order.
// It panics when b is not 16 bytes long.
func FormatGUID(b []byte) string {
	if len(b) != 16 {
		panic(fmt.Sprintf("directory: GUID of %d bytes", len(b)))
	}
	var out [36]byte
	return string(appendGUID(out[:0], b))
}

// appendGUID appends FormatGUID's text of the 16 bytes b to dst.
func appendGUID(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	order := [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}
	for i, k := range order {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[b[k]>>4], hex[b[k]&0xf])
	}
	return dst
}

// badText says what is wrong with v as a stored text value, or "" when
// nothing is: the domain's rule for one line of text.
func badText(v string) string { return domain.LineTextProblem(v) }

// UserFilter is the filter that finds one user by the mapped username
// attribute. The username is escaped (RFC 4515), so input cannot widen the
// search.
func UserFilter(m domain.AttributeMap, username string) string {
	return fmt.Sprintf("(%s=%s)", m.Username, ldap.EscapeFilter(username))
}
