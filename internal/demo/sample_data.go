package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/demo/ldapserver"
	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/store"
)

// Issuers of the sample certificates.
const (
	issuerPersonal = "CN=Example Personal Issuing CA 1,O=Example Corporation,C=SE"
	issuerDevice   = "CN=Example Device Issuing CA 2,O=Example Corporation,C=SE"
)

// credentialPrefix starts the serial of each credential type, so that serials
// look like what each kind of issuer prints.
var credentialPrefix = map[domain.CredentialType]string{
	domain.CredentialCard:             "SC",
	domain.CredentialTemporaryCard:    "TMP",
	domain.CredentialVirtualSmartCard: "VSC",
	domain.CredentialMobileID:         "MID",
	domain.CredentialSoftToken:        "ST",
}

// oldTitles are what a few people were called at the previous sync, before
// the directory changed their title.
var oldTitles = []string{"Trainee", "Junior Analyst", "Assistant", "Intern", "Coordinator"}

// SampleHoldings is the identity store as a previous run of the active job
// left it, plus what was issued to those people since: about four in five
// people of the sample directory (entries as SampleDirectory makes them),
// among them 35 of the 50 locked ones, each with credentials of every type
// in turn, one or two certificates on each (some revoked, a few expired) and
// business roles. Every user is entered as that sync made them: source
// ldap, the entryUUID as stable identifier, state active; but with one field
// that the directory has changed since (title, phone or department), so that
// the active job has updates to show. The same entries and now give the same
// records.
func SampleHoldings(entries []ldapserver.Entry, now time.Time) []store.UserDetail {
	m := DemoLDAPSettings("").AttributeMap
	rng := rand.New(rand.NewPCG(DemoSeed, 0xca4d_5e41))
	lastSync := now.Add(-7 * 24 * time.Hour).Truncate(time.Second)
	var out []store.UserDetail
	person := -1
	for _, en := range entries {
		if len(en.Get("uid")) == 0 {
			continue // the base entry and ou=people
		}
		person++
		locked := len(en.Get("pwdAccountLockedTime")) > 0
		// Holders: 35 of the 50 locked people (so the inactive job has
		// credentials, certificates and roles to change), and four active
		// people in five (so the active job also creates some users). The
		// shares keep the inactive job within the default deactivation limit
		// (10% of active users) whichever job runs first.
		switch {
		case locked && (person/10)%10 >= 7:
			continue
		case !locked && person%5 == 2:
			continue
		}
		p, err := directory.MapEntry(ldap.NewEntry(en.DN, en.Attributes), m)
		if err != nil {
			continue // SampleDirectory makes valid people; nothing to hold otherwise
		}
		u := domain.User{State: domain.UserActive, Source: domain.SourceLDAP, LastSyncedAt: &lastSync}
		domain.ApplyPerson(&u, p)
		switch person % 3 {
		case 0:
			u.Title = oldTitles[person%len(oldTitles)]
		case 1:
			u.Phone = fmt.Sprintf("+1 444 %03d %04d", rng.IntN(1000), rng.IntN(10000))
		default:
			u.Department = "Administration"
		}
		d := store.UserDetail{User: u}
		d.Credentials = sampleCredentials(rng, person, locked, p, now)
		for _, r := range sampleRoles(person, locked, p.Department) {
			d.Roles = append(d.Roles, store.RoleDetail{RoleName: r})
		}
		out = append(out, d)
	}
	return out
}

// sampleCredentials issues one to three credentials (two to four to locked
// people), their types going round every type, with one or two certificates
// each.
func sampleCredentials(rng *rand.Rand, person int, locked bool, p domain.Person, now time.Time) []store.CredentialDetail {
	n, first := 1+person%3, person
	if locked {
		n++
		// Every tenth person is locked, so person%5 is the same for all of
		// them and their types would skip one (the virtual smart card):
		// shift each locked person's round by one more than the last's.
		first += person / 10
	}
	types := domain.CredentialTypes
	var out []store.CredentialDetail
	for c := range n {
		t := types[(first+c*2)%len(types)]
		cred := store.CredentialDetail{Credential: domain.Credential{
			Type:   t,
			Serial: fmt.Sprintf("%s-%s-%d", credentialPrefix[t], p.EmployeeNumber, c+1),
			State:  domain.CredentialActive,
		}}
		issuer := issuerPersonal
		if t == domain.CredentialVirtualSmartCard || t == domain.CredentialSoftToken {
			issuer = issuerDevice
		}
		for k := range 1 + (person+c)%2 {
			issued := now.Add(-time.Duration(30+rng.IntN(600)) * 24 * time.Hour).Truncate(time.Second)
			cert := domain.Certificate{
				Serial:    fmt.Sprintf("%016X", rng.Uint64()),
				Subject:   fmt.Sprintf("CN=%s,SERIALNUMBER=%s,O=Example Corporation,C=SE", p.DisplayName, p.EmployeeNumber),
				Issuer:    issuer,
				NotBefore: issued,
				NotAfter:  issued.AddDate(2, 0, 0),
				State:     domain.CertificateActive,
			}
			switch {
			case (person+c+k)%11 == 4:
				// An older certificate that ran out before this one replaced it.
				cert.NotBefore = issued.AddDate(-3, 0, 0)
				cert.NotAfter = issued.AddDate(-1, 0, 0)
				cert.State = domain.CertificateExpired
			case (person+c+k)%7 == 3:
				reason, at := "superseded", issued.Add(24*time.Hour)
				cert.State, cert.RevocationReason, cert.RevokedAt = domain.CertificateRevoked, &reason, &at
			}
			cred.Certificates = append(cred.Certificates, cert)
		}
		out = append(out, cred)
	}
	return out
}

// sampleRoles are the business roles of a person: everyone is an employee,
// the rest depends on the department and on who they are.
func sampleRoles(person int, locked bool, department string) []string {
	roles := []string{"Employee"}
	if person%2 == 0 || locked {
		roles = append(roles, "VPN user")
	}
	if person%3 != 1 {
		roles = append(roles, "Building access")
	}
	switch department {
	case "Finance":
		roles = append(roles, "Finance approver")
	case "IT":
		roles = append(roles, "Server administrator")
	case "HR":
		roles = append(roles, "Personnel records")
	}
	if person%7 == 0 {
		roles = append(roles, "Remote worker")
	}
	return roles
}
