package directory

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
)

func openLDAPMap() domain.AttributeMap {
	s := domain.DefaultLDAPSettings()
	_ = s.ApplyPreset(domain.PresetOpenLDAP)
	return s.AttributeMap
}

func adMap() domain.AttributeMap {
	s := domain.DefaultLDAPSettings()
	_ = s.ApplyPreset(domain.PresetActiveDirectory)
	return s.AttributeMap
}

// entry builds an ldap.Entry whose attributes hold raw byte values, as the
// wire delivers them.
func entry(dn string, attrs map[string][]byte) *ldap.Entry {
	e := &ldap.Entry{DN: dn}
	for name, v := range attrs {
		e.Attributes = append(e.Attributes, &ldap.EntryAttribute{Name: name, Values: []string{string(v)}, ByteValues: [][]byte{v}})
	}
	return e
}

func TestFormatGUID(t *testing.T) {
	b := []byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}
	// What .NET's new Guid(byte[]) and AD tools print for these bytes.
	if got, want := FormatGUID(b), "03020100-0504-0706-0809-0a0b0c0d0e0f"; got != want {
		t.Fatalf("FormatGUID = %s, want %s", got, want)
	}
}

// mapEntryDN and mapEntryGUID are the DN and objectGUID of mapEntryCases.
const mapEntryDN = "uid=jdoe,ou=people,dc=example,dc=com"

var mapEntryGUID = []byte{0xd4, 0xc3, 0xb2, 0xa1, 0xf6, 0xe5, 0x18, 0x07, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90}

// mapEntryCases are TestMapEntry's entries and what each maps to.
var mapEntryCases = []struct {
	name    string
	m       domain.AttributeMap
	e       *ldap.Entry
	want    domain.Person
	wantErr string // substring of the error; "" for success
	// errOf is what the error must say of the entry (DN, stable id,
	// username), the Err left out.
	errOf EntryError
}{
	{
		name: "OpenLDAPAllFields",
		m:    openLDAPMap(),
		e: entry(mapEntryDN, map[string][]byte{
			"uid": []byte("jdoe"), "entryUUID": []byte("0C2A3B4D-1111-2222-3333-444455556666"),
			"givenName": []byte("Jane"), "sn": []byte("Doe"), "displayName": []byte("Jane Doe"),
			"mail": []byte("jane@example.com"), "telephoneNumber": []byte("+358 40 123"),
			"title": []byte("Engineer"), "departmentNumber": []byte("R&D"), "employeeNumber": []byte("E-1"),
		}),
		want: domain.Person{
			DN: mapEntryDN, DirectoryID: "0c2a3b4d-1111-2222-3333-444455556666", Username: "jdoe",
			GivenName: "Jane", Surname: "Doe", DisplayName: "Jane Doe", Email: "jane@example.com",
			Phone: "+358 40 123", Title: "Engineer", Department: "R&D", EmployeeNumber: "E-1",
		},
	},
	{
		name: "AttributeNamesMatchWhateverTheirCase",
		m:    openLDAPMap(),
		e:    entry(mapEntryDN, map[string][]byte{"UID": []byte("jdoe"), "ENTRYUUID": []byte("abc"), "GIVENNAME": []byte("Jane")}),
		want: domain.Person{DN: mapEntryDN, DirectoryID: "abc", Username: "jdoe", GivenName: "Jane"},
	},
	{
		name: "ValuesTrimmed",
		m:    openLDAPMap(),
		e:    entry(mapEntryDN, map[string][]byte{"uid": []byte("  jdoe\u00a0"), "sn": []byte(" Doe ")}),
		want: domain.Person{DN: mapEntryDN, Username: "jdoe", Surname: "Doe"},
	},
	{
		name: "FirstValueOfMany",
		m:    openLDAPMap(),
		e: &ldap.Entry{DN: mapEntryDN, Attributes: []*ldap.EntryAttribute{
			{Name: "uid", Values: []string{"first", "second"}, ByteValues: [][]byte{[]byte("first"), []byte("second")}},
		}},
		want: domain.Person{DN: mapEntryDN, Username: "first"},
	},
	{
		name: "ADObjectGUIDBinary",
		m:    adMap(),
		e:    entry("CN=Jane Doe,OU=Staff,DC=corp,DC=example", map[string][]byte{"sAMAccountName": []byte("jdoe"), "objectGUID": mapEntryGUID}),
		want: domain.Person{DN: "CN=Jane Doe,OU=Staff,DC=corp,DC=example", DirectoryID: "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90", Username: "jdoe"},
	},
	{
		name: "NoStableIDIsAllowed",
		m:    adMap(),
		e:    entry(mapEntryDN, map[string][]byte{"sAMAccountName": []byte("jdoe")}),
		want: domain.Person{DN: mapEntryDN, Username: "jdoe"},
	},
	{
		name: "UnicodeKept",
		m:    openLDAPMap(),
		e:    entry(mapEntryDN, map[string][]byte{"uid": []byte("jyrki"), "sn": []byte("Äijälä-Ŝ 李")}),
		want: domain.Person{DN: mapEntryDN, Username: "jyrki", Surname: "Äijälä-Ŝ 李"},
	},
	{
		name:    "ErrNoUsername",
		m:       openLDAPMap(),
		e:       entry(mapEntryDN, map[string][]byte{"sn": []byte("Doe")}),
		wantErr: "the entry has no uid, which is mapped to the username",
		errOf:   EntryError{DN: mapEntryDN},
	},
	{
		name:    "ErrNoUsernameKeepsTheStableID",
		m:       domain.AttributeMap{Username: "userPrincipalName", StableID: "objectGUID"},
		e:       entry(mapEntryDN, map[string][]byte{"sAMAccountName": []byte("jdoe"), "objectGUID": mapEntryGUID}),
		wantErr: "the entry has no userPrincipalName, which is mapped to the username",
		errOf:   EntryError{DN: mapEntryDN, DirectoryID: "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90"},
	},
	{
		name:    "ErrBlankUsername",
		m:       openLDAPMap(),
		e:       entry(mapEntryDN, map[string][]byte{"uid": []byte("   ")}),
		wantErr: "the entry has no uid, which is mapped to the username",
		errOf:   EntryError{DN: mapEntryDN},
	},
	{
		name:    "ErrInvalidUTF8NamesAttribute",
		m:       openLDAPMap(),
		e:       entry(mapEntryDN, map[string][]byte{"uid": []byte("jdoe"), "sn": {0xff, 0xfe, 'x'}}),
		wantErr: "attribute sn is not valid UTF-8",
		errOf:   EntryError{DN: mapEntryDN, Username: "jdoe"},
	},
	{
		name:    "ErrNULNamesAttribute",
		m:       openLDAPMap(),
		e:       entry(mapEntryDN, map[string][]byte{"uid": []byte("jdoe"), "mail": []byte("a\x00b@example.com")}),
		wantErr: "attribute mail contains a NUL byte",
		errOf:   EntryError{DN: mapEntryDN, Username: "jdoe"},
	},
	{
		name:    "ErrNewlineInsideValue",
		m:       openLDAPMap(),
		e:       entry(mapEntryDN, map[string][]byte{"uid": []byte("jdoe"), "title": []byte("a\nb")}),
		wantErr: "attribute title contains a line break or another control character (U+000A)",
		errOf:   EntryError{DN: mapEntryDN, Username: "jdoe"},
	},
	{
		name:    "ErrControlInStableID",
		m:       openLDAPMap(),
		e:       entry(mapEntryDN, map[string][]byte{"uid": []byte("jdoe"), "entryUUID": []byte("ab\x01c")}),
		wantErr: "attribute entryUUID contains a line break or another control character (U+0001)",
		errOf:   EntryError{DN: mapEntryDN, Username: "jdoe"},
	},
	{
		name:    "ErrObjectGUIDWrongLength",
		m:       adMap(),
		e:       entry(mapEntryDN, map[string][]byte{"sAMAccountName": []byte("jdoe"), "objectGUID": mapEntryGUID[:15]}),
		wantErr: "attribute objectGUID is 15 bytes, not the 16 of a GUID",
		errOf:   EntryError{DN: mapEntryDN, Username: "jdoe"},
	},
	{
		name:    "ErrValueLongerThanColumn",
		m:       openLDAPMap(),
		e:       entry(mapEntryDN, map[string][]byte{"uid": []byte("jdoe"), "telephoneNumber": []byte(strings.Repeat("1", 65))}),
		wantErr: "phone is 65 characters, longer than the 64 allowed",
		errOf:   EntryError{DN: mapEntryDN, Username: "jdoe"},
	},
	{
		name:    "ErrDNInvalidUTF8",
		m:       openLDAPMap(),
		e:       entry("uid=\xff,dc=x", map[string][]byte{"uid": []byte("jdoe")}),
		wantErr: "the DN is not valid UTF-8",
		errOf:   EntryError{DN: "uid=\uFFFD,dc=x"},
	},
	{
		name:    "ErrNilEntry",
		m:       openLDAPMap(),
		wantErr: "empty directory entry",
	},
}

func TestMapEntry(t *testing.T) {
	for _, tt := range mapEntryCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MapEntry(tt.e, tt.m)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("MapEntry error = %v, want one containing %q", err, tt.wantErr)
				}
				if domain.ErrorCode(err) != domain.EINVALID {
					t.Errorf("error code = %s, want %s", domain.ErrorCode(err), domain.EINVALID)
				}
				var ee *EntryError
				if !errors.As(err, &ee) {
					t.Fatalf("error %T, want an *EntryError", err)
				}
				if got := (EntryError{DN: ee.DN, DirectoryID: ee.DirectoryID, Username: ee.Username}); got != tt.errOf {
					t.Errorf("error names the entry as %+v, want %+v", got, tt.errOf)
				}
				if strings.HasPrefix(err.Error(), domain.EINVALID) {
					t.Errorf("error %q shows the internal code", err)
				}
				if got != (domain.Person{}) {
					t.Errorf("Person on error = %+v, want zero", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("MapEntry: %v", err)
			}
			if got != tt.want {
				t.Errorf("MapEntry =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestUserFilter(t *testing.T) {
	tests := []struct {
		name, username, want string
	}{
		{"Plain", "jdoe", "(uid=jdoe)"},
		{"InjectionEscaped", "*)(uid=*", `(uid=\2a\29\28uid=\2a)`},
		{"BackslashAndNULEscaped", "a\\b\x00", `(uid=a\5cb\00)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UserFilter(openLDAPMap(), tt.username)
			if got != tt.want {
				t.Fatalf("UserFilter(%q) = %s, want %s", tt.username, got, tt.want)
			}
			if _, err := ldap.CompileFilter(got); err != nil {
				t.Fatalf("UserFilter(%q) does not compile: %v", tt.username, err)
			}
		})
	}
}

func FuzzMapEntry(f *testing.F) {
	f.Add("uid=a,dc=x", "jdoe", "Jane", []byte("0c2a3b4d-1111-2222-3333-444455556666"), false)
	f.Add("uid=a,dc=x", " ", "\x00", []byte{0xff}, false)
	f.Add("CN=x", "jdoe", "Doe", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, true)
	f.Add("\xff", "j\ndoe", strings.Repeat("x", 300), []byte{}, true)
	f.Fuzz(func(t *testing.T, dn, username, surname string, id []byte, ad bool) {
		m, idAttr, userAttr := openLDAPMap(), "entryUUID", "uid"
		if ad {
			m, idAttr, userAttr = adMap(), "objectGUID", "sAMAccountName"
		}
		e := entry(dn, map[string][]byte{userAttr: []byte(username), "sn": []byte(surname), idAttr: id})
		p, err := MapEntry(e, m)
		if err != nil {
			if p != (domain.Person{}) {
				t.Fatalf("error %v with a non-zero Person %+v", err, p)
			}
			return
		}
		if verr := domain.ValidatePerson(p); verr != nil {
			t.Fatalf("MapEntry returned an invalid Person: %v", verr)
		}
		for _, f := range append(domain.PersonFields(p), [2]string{"directory_id", p.DirectoryID}) {
			if !utf8.ValidString(f[1]) || strings.IndexFunc(f[1], unicode.IsControl) >= 0 {
				t.Fatalf("field %s = %q is not clean text", f[0], f[1])
			}
			if f[0] != "dn" && f[1] != strings.TrimSpace(f[1]) {
				t.Fatalf("field %s = %q is not trimmed", f[0], f[1])
			}
		}
		if p.Username != strings.TrimSpace(username) || p.DN != dn {
			t.Fatalf("Person %+v does not carry the username %q and DN %q", p, username, dn)
		}
		if ad && len(id) == 16 && len(p.DirectoryID) != 36 {
			t.Fatalf("objectGUID mapped to %q", p.DirectoryID)
		}
	})
}
