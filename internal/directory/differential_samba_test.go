package directory

import (
	"testing"

	"idm/internal/testenv"
)

// TestDifferentialSamba runs the fixtures through both readers against a
// Samba AD DC over LDAPS: 2,100 users with binary objectGUIDs and objectSids,
// several telephone numbers each, UTF-8 names, disabled accounts, pages
// capped at 1,000 by the DC, and continuation references from the domain
// root.
func TestDifferentialSamba(t *testing.T) {
	dc := testenv.StartSamba(t)
	dc.AddUser(t, testenv.SambaUser{Username: "asa.odegard", GivenName: "Åsa", Surname: "Ødegård-李", DisplayName: "Åsa Ødegård 李小龍",
		Email: "asa@example.com", Phone: "+46 8 555 0101", OtherPhones: []string{"+46 8 555 0102", "+46 8 555 0103"},
		Title: "Ingénieure en chef", Department: "Forskning & Utveckling", EmployeeID: "E-2001"})
	set := sambaSettings(dc, dc.LDAPSURL)
	set.InsecureSkipVerify = true // the DC's own certificate names no address
	ad := set.AttributeMap
	all := []string{"*"}
	users := "(&(objectCategory=person)(objectClass=user))"
	runDifferential(t, "samba", set, dc.BindPassword, []diffSearch{
		{name: "EveryAttributeOverPageBoundaries", filter: users, attrs: all, m: ad, size: 97},
		// Pages of 5,000 asked for, 1,000 sent: the DC's MaxPageSize.
		{name: "ActiveFilterPagesCappedByTheServer", filter: set.ActiveFilter, attrs: ad.Attributes(), m: ad, size: 5000},
		{name: "InactiveFilter", filter: set.InactiveFilter, attrs: ad.Attributes(), m: ad, size: 500},
		{name: "ReferencesFromTheDomainRoot", base: dc.BaseDN, filter: users, attrs: ad.Attributes(), m: ad, size: 500},
		{name: "ErrNoSuchObject", base: "OU=Nowhere," + dc.BaseDN, filter: users, attrs: all, m: ad, size: 500},
	})
	t.Run("CutMidPage", func(t *testing.T) { differentialCut(t, set, dc.BindPassword, 50) })
}
