package domain_test

import (
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
)

func TestCheckRecordText(t *testing.T) {
	for _, tc := range []struct{ name, line, want string }{
		{"OK", `{"username":"åsa"}`, ""},
		{"ErrInvalidByte", "{\"username\":\"a\xffb\"}", "the line is not valid UTF-8 text (byte 15, 0xff, is not)"},
		{"ErrTruncatedRune", "{\"sn\":\"\xc3\"}", "byte 8, 0xc3"},
		{"ErrSurrogateEncoded", "\xed\xa0\x80", "byte 1, 0xed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, domain.CheckRecordText([]byte(tc.line)), tc.want)
		})
	}
}

func TestCheckBodyText(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"OK", `{"bind_dn":"cn=åsa,dc=example,dc=com"}`, ""},
		{"OKEscapedNUL", `{"bind_dn":"a\u0000b"}`, ""}, // text; the field's rule refuses the NUL
		{"ErrInvalidByte", "{\"bind_dn\":\"a\xffb\"}", "The request body is not valid UTF-8 text (byte 14, 0xff, is not): send JSON in UTF-8."},
		{"ErrTruncatedRune", "\xc3", "byte 1, 0xc3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.CheckBodyText([]byte(tc.body))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.want != "" && (domain.ErrorCode(err) != domain.EMALFORMED || !strings.Contains(domain.ErrorMessage(err), tc.want)):
				t.Fatalf("err = %v, want %s (a body that cannot be read) with %q", err, domain.EMALFORMED, tc.want)
			}
		})
	}
}

func TestValidatePerson(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    domain.Person
		want string
	}{
		{"OK", domain.Person{Username: "jdoe", DN: "uid=jdoe,dc=x"}, ""},
		{"OKLongestInCharacters", domain.Person{Username: strings.Repeat("é", 256)}, ""},
		{"ErrNoUsername", domain.Person{DN: "uid=x"}, "has no username"},
		{"ErrUsernameOverlong", domain.Person{Username: strings.Repeat("é", 257)}, "username is 257 characters, longer than the 256 allowed"},
		{"ErrPhoneOverlong", domain.Person{Username: "a", Phone: strings.Repeat("1", 65)}, "phone is 65 characters"},
		{"ErrStableIDOverlong", domain.Person{Username: "a", DirectoryID: strings.Repeat("1", 257)}, "stable identifier is longer than 256"},
		{"ErrNUL", domain.Person{Username: "a", Surname: "D\x00e"}, "surname contains a NUL byte"},
		{"ErrInvalidUTF8", domain.Person{Username: "a\xff"}, "username is not valid UTF-8 text"},
		{"ErrLineBreak", domain.Person{Username: "a", Title: "x\ny"}, "title contains a line break"},
		{"ErrDNControl", domain.Person{Username: "a", DN: "uid=a\x01"}, `entry "uid=a\x01": the DN contains`},
		{"ErrDirectoryIDNUL", domain.Person{Username: "a", DirectoryID: "\x00"}, "directory_id contains a NUL byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, domain.ValidatePerson(tc.p), tc.want)
		})
	}
}

func TestValidateCredentialAndCertificate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reason := func(s string) *string { return &s }
	good := domain.Certificate{Serial: "01", Issuer: "CN=CA", NotBefore: now, NotAfter: now.Add(time.Hour), State: domain.CertificateActive}
	cert := func(edit func(*domain.Certificate)) domain.Certificate { c := good; edit(&c); return c }
	goodCred := domain.Credential{Type: domain.CredentialCard, Serial: "C1", State: domain.CredentialActive}
	cred := func(edit func(*domain.Credential)) domain.Credential { c := goodCred; edit(&c); return c }
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"OKCredential", domain.ValidateCredential(goodCred), ""},
		{"OKCertificate", domain.ValidateCertificate(good), ""},
		{"ErrCredentialType", domain.ValidateCredential(cred(func(c *domain.Credential) { c.Type = "badge" })), `type "badge": use card`},
		{"ErrCredentialSerialEmpty", domain.ValidateCredential(cred(func(c *domain.Credential) { c.Serial = "" })), "serial must be 1 to 128 characters"},
		{"ErrCredentialSerialOverlong", domain.ValidateCredential(cred(func(c *domain.Credential) { c.Serial = strings.Repeat("9", 129) })), "serial must be 1 to 128"},
		{"ErrCredentialSerialNUL", domain.ValidateCredential(cred(func(c *domain.Credential) { c.Serial = "C\x001" })), "serial contains a NUL byte"},
		{"ErrCredentialState", domain.ValidateCredential(cred(func(c *domain.Credential) { c.State = "gone" })), `state "gone"`},
		{"ErrCertSerial", domain.ValidateCertificate(cert(func(c *domain.Certificate) { c.Serial = "" })), "serial must be 1 to 128 characters"},
		{"ErrCertIssuerOverlong", domain.ValidateCertificate(cert(func(c *domain.Certificate) { c.Issuer = strings.Repeat("x", 1025) })), "issuer must be 1 to 1024 characters"},
		{"ErrCertSubjectOverlong", domain.ValidateCertificate(cert(func(c *domain.Certificate) { c.Subject = strings.Repeat("x", 1025) })), "subject must be at most 1024 characters"},
		{"ErrCertSubjectInvalidUTF8", domain.ValidateCertificate(cert(func(c *domain.Certificate) { c.Subject = "CN=\xff" })), "subject is not valid UTF-8 text"},
		{"ErrCertIssuerNUL", domain.ValidateCertificate(cert(func(c *domain.Certificate) { c.Issuer = "CN=\x00" })), "issuer contains a NUL byte"},
		{"ErrCertReasonOverlong", domain.ValidateCertificate(cert(func(c *domain.Certificate) { c.RevocationReason = reason(strings.Repeat("r", 65)) })), "revocation_reason must be at most 64"},
		{"ErrCertNoDates", domain.ValidateCertificate(cert(func(c *domain.Certificate) { c.NotAfter = time.Time{} })), "not_before and not_after are required"},
		{"ErrCertBackwards", domain.ValidateCertificate(cert(func(c *domain.Certificate) { c.NotAfter = now })), "not_after must be after not_before"},
		{"ErrCertState", domain.ValidateCertificate(cert(func(c *domain.Certificate) { c.State = "lost" })), `state "lost"`},
		{"OKRole", domain.ValidateRoleName("Approver"), ""},
		{"ErrRoleEmpty", domain.ValidateRoleName(""), "a role name must be 1 to 128 characters"},
		{"ErrRoleOverlong", domain.ValidateRoleName(strings.Repeat("r", 129)), "a role name must be 1 to 128 characters"},
		{"ErrRoleNUL", domain.ValidateRoleName("A\x00"), "a role name contains a NUL byte"},
		{"ErrState", func() error { _, err := domain.ParseUserState("gone"); return err }(), `state "gone": use active or inactive`},
		{"ErrSource", domain.ValidateUserSource("csv"), `source "csv": use import or ldap`},
		{"AtKeepsTheCode", domain.At("credentials[2]", domain.ValidateCredential(cred(func(c *domain.Credential) { c.Serial = "" }))), "credentials[2]: serial must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.err, tc.want)
		})
	}
}
