// Package demo holds what the demo mode needs to work in its first minute:
// a sample directory of people and the settings that point the product at it.
package demo

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"idm/internal/demo/ldapserver"
	"idm/internal/domain"
)

// The demo directory's naming and its service account.
const (
	DemoBaseDN   = "dc=example,dc=com"
	DemoBindDN   = "cn=idm-reader,dc=example,dc=com"
	DemoPeople   = 500
	DemoSeed     = 1
	demoPageSize = 10 // far below DemoPeople, so a demo run pages as a real one does, page by page
)

// DemoPageDelay is how long the sample directory takes for each page of
// entries (a count, which asks for no attributes, is answered at once). A
// directory on loopback answers 500 people in a blink; with the delay a
// Run now of the active job takes about seven seconds, and its progress
// (entries read and written) visibly moves on the Batch jobs page. Only
// the demo directory waits: the engine never does.
const DemoPageDelay = 150 * time.Millisecond

// LockedTime is the pwdAccountLockedTime OpenLDAP's ppolicy overlay writes
// for an account locked by an administrator until unlocked; the OpenLDAP
// preset counts such people as inactive.
const LockedTime = "000001010000Z"

// SampleDirectory returns the base entry, ou=people and n people under it,
// OpenLDAP style, the same for the same seed. Every tenth person carries
// pwdAccountLockedTime, so the OpenLDAP preset sees a tenth as inactive.
func SampleDirectory(baseDN string, n int, seed int64) []ldapserver.Entry {
	givenNames := []string{
		"Anna", "Erik", "Maria", "Johan", "Sara", "Lars", "Emma", "Karl", "Elin", "Anders",
		"Olivia", "Liam", "Noah", "Sofia", "Lucas", "Mia", "Oscar", "Ella", "Hugo", "Alice",
		"Priya", "Arjun", "Mei", "Wei", "Yuki", "Hiro", "Fatima", "Omar", "Amara", "Kwame",
		"Grace", "Daniel", "Laura", "Michael", "Julia", "David", "Nina", "Thomas", "Eva", "Peter",
		"Åsa", "Björn", "José", "Zoë", "Søren", "Chloé", "Ines", "Mateo", "Lena", "Jonas",
	}
	surnames := []string{
		"Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
		"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor",
		"Clark", "Lewis", "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Hill",
		"Patel", "Singh", "Chen", "Wang", "Tanaka", "Sato", "Kim", "Nguyen", "Okafor", "Mensah",
		"Haddad", "Costa", "Rossi", "Novak", "Kowalski", "Dubois", "Fischer", "Weber", "Jansen",
		"Müller", "Núñez", "García", "Øberg", "Lindqvist", "Bergström",
	}
	departments := []struct {
		name   string
		titles []string
	}{
		{"Finance", []string{"Accountant", "Financial Analyst", "Controller", "Payroll Specialist"}},
		{"HR", []string{"HR Generalist", "Recruiter", "HR Business Partner"}},
		{"IT", []string{"Systems Administrator", "Software Engineer", "Service Desk Analyst", "Network Engineer", "Security Analyst"}},
		{"Sales", []string{"Account Executive", "Sales Representative", "Sales Manager"}},
		{"Operations", []string{"Operations Coordinator", "Logistics Planner", "Facilities Manager"}},
		{"Legal", []string{"Legal Counsel", "Paralegal", "Compliance Officer"}},
		{"Marketing", []string{"Marketing Specialist", "Content Writer", "Brand Manager"}},
		{"Customer Service", []string{"Customer Service Agent", "Team Lead", "Support Manager"}},
	}

	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed_d1ec_7041))
	people := "ou=people," + baseDN
	domainName := mailDomain(baseDN)
	entries := make([]ldapserver.Entry, 0, n+2)
	entries = append(entries,
		baseEntry(baseDN, uuid(rng)),
		ldapserver.Entry{DN: people, Attributes: map[string][]string{
			"objectClass": {"top", "organizationalUnit"},
			"ou":          {"people"},
			"entryUUID":   {uuid(rng)},
		}},
	)
	taken := make(map[string]bool, n)
	for i := range n {
		given := givenNames[rng.IntN(len(givenNames))]
		sn := surnames[rng.IntN(len(surnames))]
		dept := departments[rng.IntN(len(departments))]
		uid := uniqueUID(taken, fold(given)+"."+fold(sn))
		attrs := map[string][]string{
			"objectClass":      {"top", "person", "organizationalPerson", "inetOrgPerson"},
			"uid":              {uid},
			"cn":               {given + " " + sn},
			"givenName":        {given},
			"sn":               {sn},
			"displayName":      {given + " " + sn},
			"mail":             {uid + "@" + domainName},
			"telephoneNumber":  {fmt.Sprintf("+1 555 %03d %04d", rng.IntN(1000), rng.IntN(10000))},
			"title":            {dept.titles[rng.IntN(len(dept.titles))]},
			"departmentNumber": {dept.name},
			"employeeNumber":   {strconv.Itoa(100001 + i)},
			"entryUUID":        {uuid(rng)},
		}
		if i%10 == 9 {
			attrs["pwdAccountLockedTime"] = []string{LockedTime}
		}
		entries = append(entries, ldapserver.Entry{DN: "uid=" + uid + "," + people, Attributes: attrs})
	}
	return entries
}

// DemoLDAPSettings are the LDAP settings that point the product at the demo
// directory at serverURL. The bind password is the caller's to encrypt into
// BindPasswordEnc.
func DemoLDAPSettings(serverURL string) domain.LDAPSettings {
	s := domain.DefaultLDAPSettings()
	// The preset name is a constant, so ApplyPreset cannot fail here.
	_ = s.ApplyPreset(domain.PresetOpenLDAP)
	s.URL = serverURL
	s.BaseDN = DemoBaseDN
	s.BindDN = DemoBindDN
	s.Scope = domain.ScopeSub
	s.PageSize = demoPageSize
	return s
}

// DemoServerConfig is the ldapserver configuration for the demo directory:
// DemoPeople people on loopback, bound with DemoBindDN and password.
func DemoServerConfig(password string, logger *slog.Logger) ldapserver.Config {
	return ldapserver.Config{
		Addr:         "127.0.0.1:0",
		BaseDN:       DemoBaseDN,
		BindDN:       DemoBindDN,
		BindPassword: password,
		Entries:      SampleDirectory(DemoBaseDN, DemoPeople, DemoSeed),
		Logger:       logger,
		PageDelay:    DemoPageDelay,
	}
}

// uuid draws a version 4 UUID from rng, so entryUUIDs repeat for a seed.
func uuid(rng *rand.Rand) string {
	var b [16]byte
	for i := range 2 {
		v := rng.Uint64()
		for j := range 8 {
			b[i*8+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func uniqueUID(taken map[string]bool, uid string) string {
	candidate := uid
	for k := 2; taken[candidate]; k++ {
		candidate = uid + strconv.Itoa(k)
	}
	taken[candidate] = true
	return candidate
}

// fold turns a name into the lower-case ASCII used in usernames and mail.
func fold(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch r {
		case 'å', 'ä', 'á', 'à':
			b.WriteRune('a')
		case 'ö', 'ø', 'ó':
			b.WriteRune('o')
		case 'é', 'è', 'ë':
			b.WriteRune('e')
		case 'ü', 'ú':
			b.WriteRune('u')
		case 'í':
			b.WriteRune('i')
		case 'ñ':
			b.WriteRune('n')
		default:
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// mailDomain is the DNS name the base DN's dc components spell.
func mailDomain(baseDN string) string {
	var parts []string
	for rdn := range strings.SplitSeq(baseDN, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(rdn), "="); ok && strings.EqualFold(k, "dc") {
			parts = append(parts, strings.ToLower(v))
		}
	}
	if len(parts) == 0 {
		return "example.com"
	}
	return strings.Join(parts, ".")
}

// baseEntry is the entry for the naming context, of the class its first RDN needs.
func baseEntry(baseDN, entryUUID string) ldapserver.Entry {
	first, _, _ := strings.Cut(baseDN, ",")
	attr, value, _ := strings.Cut(strings.TrimSpace(first), "=")
	attrs := map[string][]string{"entryUUID": {entryUUID}, "o": {"Example Corporation"}}
	switch strings.ToLower(strings.TrimSpace(attr)) {
	case "dc":
		attrs["objectClass"] = []string{"top", "dcObject", "organization"}
		attrs["dc"] = []string{value}
	case "ou":
		attrs["objectClass"] = []string{"top", "organizationalUnit"}
		attrs["ou"] = []string{value}
		delete(attrs, "o")
	default:
		attrs["objectClass"] = []string{"top", "organization"}
		attrs["o"] = []string{value}
	}
	return ldapserver.Entry{DN: baseDN, Attributes: attrs}
}
