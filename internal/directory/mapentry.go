package directory

import (
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
)

// MapEntry turns a directory entry into a Person through the attribute map.
// Attribute names match case-insensitively and the first value counts. The
// stable identifier is normalised so that it compares equal run after run:
// objectGUID (16 binary bytes) becomes the GUID string as Active Directory
// tools show it, entryUUID is lower-cased. Values are trimmed; a value that
// is not UTF-8 or holds control characters is refused with an error naming
// the attribute, and so is a Person that domain.ValidatePerson rejects. On
// error the Person is zero.
func MapEntry(e *ldap.Entry, m domain.AttributeMap) (domain.Person, error) {
	if e == nil {
		return domain.Person{}, domain.Errorf(domain.EINVALID, "empty directory entry")
	}
	if reason := badText(e.DN); reason != "" {
		return domain.Person{}, domain.Errorf(domain.EINVALID, "entry %q: the DN %s", strings.ToValidUTF8(e.DN, "\uFFFD"), reason)
	}
	p := domain.Person{DN: e.DN}
	fields := []struct {
		attr string
		dst  *string
	}{
		{m.Username, &p.Username}, {m.GivenName, &p.GivenName}, {m.Surname, &p.Surname},
		{m.DisplayName, &p.DisplayName}, {m.Email, &p.Email}, {m.Phone, &p.Phone},
		{m.Title, &p.Title}, {m.Department, &p.Department}, {m.EmployeeNumber, &p.EmployeeNumber},
	}
	for _, f := range fields {
		if f.attr == "" {
			continue
		}
		v := strings.TrimSpace(string(e.GetEqualFoldRawAttributeValue(f.attr)))
		if reason := badText(v); reason != "" {
			return domain.Person{}, domain.Errorf(domain.EINVALID, "entry %s: attribute %s %s", e.DN, f.attr, reason)
		}
		*f.dst = v
	}
	id, err := stableID(e, m.StableID)
	if err != nil {
		return domain.Person{}, err
	}
	p.DirectoryID = id
	if err := domain.ValidatePerson(p); err != nil {
		return domain.Person{}, err
	}
	return p, nil
}

func stableID(e *ldap.Entry, attr string) (string, error) {
	if attr == "" {
		return "", nil
	}
	raw := e.GetEqualFoldRawAttributeValue(attr)
	if strings.EqualFold(attr, "objectGUID") {
		if len(raw) == 0 {
			return "", nil
		}
		if len(raw) != 16 {
			return "", domain.Errorf(domain.EINVALID, "entry %s: attribute %s is %d bytes, not the 16 of a GUID", e.DN, attr, len(raw))
		}
		return FormatGUID(raw), nil
	}
	v := strings.TrimSpace(string(raw))
	if reason := badText(v); reason != "" {
		return "", domain.Errorf(domain.EINVALID, "entry %s: attribute %s %s", e.DN, attr, reason)
	}
	if strings.EqualFold(attr, "entryUUID") {
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
	const hex = "0123456789abcdef"
	order := [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}
	var out [36]byte
	j := 0
	for i, k := range order {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[b[k]>>4], hex[b[k]&0xf]
		j += 2
	}
	return string(out[:])
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
