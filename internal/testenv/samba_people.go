package testenv

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// SambaUser is a user account of the Samba domain controller: the
// attributes an Active Directory administrator sets, by their AD names.
type SambaUser struct {
	Username           string // sAMAccountName
	GivenName          string // givenName
	Surname            string // sn
	DisplayName        string // displayName, and the CN of the entry
	Email              string // mail; "" for none
	UPN                string // userPrincipalName; "" for none
	Phone              string // telephoneNumber
	OtherPhones        []string
	Title              string
	Department         string
	EmployeeID         string // employeeID
	Disabled           bool   // userAccountControl bit 2 (ACCOUNTDISABLE)
	DontExpirePassword bool   // userAccountControl bit 0x10000, so that the bit test matters, not the value
}

// userAccountControl flags (MS-ADTS 2.2.16).
const (
	uacAccountDisable     = 0x2
	uacNormalAccount      = 0x200
	uacDontExpirePassword = 0x10000
)

// SambaPeopleCount is how many users the template's OU=People holds;
// every SambaDisabledEvery-th of them (counting from 1) is disabled.
const (
	SambaPeopleCount   = 2100
	SambaDisabledEvery = 10
)

// DN is where the user lives when added by AddUser: CN=<DisplayName> (or
// the username when there is none) under OU=People.
func (u SambaUser) DN() string {
	cn := u.DisplayName
	if cn == "" {
		cn = u.Username
	}
	return "CN=" + ldap.EscapeDN(cn) + "," + SambaPeopleDN
}

// UserAccountControl is the value the account is created with.
func (u SambaUser) UserAccountControl() int {
	v := uacNormalAccount
	if u.Disabled {
		v |= uacAccountDisable
	}
	if u.DontExpirePassword {
		v |= uacDontExpirePassword
	}
	return v
}

// attributes are the entry's attributes for an add, without empty ones.
func (u SambaUser) attributes() [][2]string {
	pairs := [][2]string{
		{"objectClass", "user"}, {"sAMAccountName", u.Username}, {"givenName", u.GivenName},
		{"sn", u.Surname}, {"displayName", u.DisplayName}, {"mail", u.Email},
		{"userPrincipalName", u.UPN}, {"telephoneNumber", u.Phone}, {"title", u.Title},
		{"department", u.Department}, {"employeeID", u.EmployeeID},
		{"userAccountControl", fmt.Sprint(u.UserAccountControl())},
	}
	for _, p := range u.OtherPhones {
		pairs = append(pairs, [2]string{"otherTelephone", p})
	}
	out := pairs[:0]
	for _, p := range pairs {
		if p[1] != "" {
			out = append(out, p)
		}
	}
	return out
}

// SambaPeople returns the users of the template's OU=People, user00001 to
// user02100, in that order. Their variety is what AD data has and a reader
// must cope with:
//
//   - every 10th is disabled (210 in all, so 1,890 are enabled);
//   - every 5th also has DONT_EXPIRE_PASSWORD (userAccountControl 66048 or
//     66050), so only a bit test tells disabled apart;
//   - every 7th has no mail, every 17th no userPrincipalName;
//   - every 11th has two otherTelephone values;
//   - every 13th has names outside ASCII (Zoë Ångström-Łukasiewicz).
func SambaPeople() []SambaUser {
	people := make([]SambaUser, SambaPeopleCount)
	for i := range people {
		people[i] = sambaPerson(i + 1)
	}
	return people
}

func sambaPerson(i int) SambaUser {
	name := fmt.Sprintf("user%05d", i)
	u := SambaUser{
		Username: name, GivenName: "Given", Surname: fmt.Sprintf("Number %d", i),
		Email: name + "@samba.example.com", UPN: name + "@samba.example.com",
		Phone: fmt.Sprintf("+1 555 %04d", i%10000), Title: "Staff",
		Department: fmt.Sprintf("Department %d", i%7), EmployeeID: fmt.Sprintf("E%06d", i),
		Disabled: i%SambaDisabledEvery == 0, DontExpirePassword: i%5 == 0,
	}
	if i%13 == 0 {
		u.GivenName, u.Surname = "Zoë", fmt.Sprintf("Ångström-Łukasiewicz %d", i)
	}
	u.DisplayName = u.GivenName + " " + u.Surname
	if i%7 == 0 {
		u.Email = ""
	}
	if i%17 == 0 {
		u.UPN = ""
	}
	if i%11 == 0 {
		u.OtherPhones = []string{fmt.Sprintf("+1 555 1%04d", i%10000), fmt.Sprintf("+1 555 2%04d", i%10000)}
	}
	return u
}

// sambaPeopleLDIF is OU=People and its users, for ldbadd.
func sambaPeopleLDIF() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: People\n\n", SambaPeopleDN)
	for _, u := range SambaPeople() {
		ldifLine(&b, "dn", u.DN())
		for _, a := range u.attributes() {
			ldifLine(&b, a[0], a[1])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ldifLine writes one attribute, base64 encoded when it is not plain
// ASCII (RFC 2849 SAFE-STRING).
func ldifLine(b *strings.Builder, attr, value string) {
	safe := value == "" || (value[0] != ' ' && value[0] != ':' && value[0] != '<' && value[len(value)-1] != ' ')
	for _, r := range value {
		if r >= utf8.RuneSelf || r == '\n' || r == '\r' || r == 0 {
			safe = false
			break
		}
	}
	if safe {
		fmt.Fprintf(b, "%s: %s\n", attr, value)
		return
	}
	fmt.Fprintf(b, "%s:: %s\n", attr, base64.StdEncoding.EncodeToString([]byte(value)))
}
