package main

import (
	"fmt"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
)

// population is the generated directory: n people, a share of them locked
// (inactive for the OpenLDAP preset).
type population struct {
	n int
	// lockedPerMille is the locked share in thousandths (100 = a tenth).
	lockedPerMille int
}

// inactive reports whether person i is locked. The locked people are
// spread evenly: with a tenth, every tenth person (9, 19, 29, …).
func (p population) inactive(i int) bool {
	return (i+1)*p.lockedPerMille/1000 > i*p.lockedPerMille/1000
}

// The roles every holder has.
var holderRoles = []string{"Employee", "VPN user", "Building access"}

// holder is locked person i as an earlier sync left them (state active,
// source ldap, the entryUUID as stable identifier, fields as mapped),
// holding two credentials with two certificates each and three roles:
// what the inactive job deactivates, what (f) imports. IDs are left empty.
func holder(i int, now time.Time) store.UserDetail {
	given, sn := givenNames[i%len(givenNames)], surnames[(i/len(givenNames))%len(surnames)]
	uid, uuid := personUID(i), personUUID(i)
	synced := now.Add(-24 * time.Hour)
	d := store.UserDetail{User: domain.User{
		Username: uid, DirectoryID: &uuid, DN: "uid=" + uid + "," + peopleDN,
		GivenName: given, Surname: sn, DisplayName: given + " " + sn, Email: uid + "@example.com",
		Phone: fmt.Sprintf("+1 555 %03d %04d", i%1000, i%10000), Title: titles[i%len(titles)],
		Department: departments[i%len(departments)], EmployeeNumber: fmt.Sprint(1000000 + i),
		State: domain.UserActive, Source: domain.SourceLDAP, CreatedAt: synced, UpdatedAt: synced, LastSyncedAt: &synced,
	}}
	for c := range 2 {
		t := domain.CredentialTypes[(i/10+c)%len(domain.CredentialTypes)]
		cd := store.CredentialDetail{Credential: domain.Credential{Type: t, Serial: fmt.Sprintf("%s-%d", uid, c),
			State: domain.CredentialActive, CreatedAt: synced, UpdatedAt: synced}}
		for k := range 2 {
			cd.Certificates = append(cd.Certificates, domain.Certificate{
				Serial: fmt.Sprintf("%s-%d-%d", uid, c, k), Subject: "CN=" + d.DisplayName + ",O=Example",
				Issuer: "CN=Bench CA,O=Example", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0),
				State: domain.CertificateActive, CreatedAt: synced, UpdatedAt: synced,
			})
		}
		d.Credentials = append(d.Credentials, cd)
	}
	for _, r := range holderRoles {
		d.Roles = append(d.Roles, store.RoleDetail{RoleName: r})
	}
	return d
}
