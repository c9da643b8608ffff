package testenv_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/testenv"
)

// TestSamba checks the domain controller the directory and engine tests
// run against: what it holds, that it behaves like AD where the product
// depends on it, and that its helpers change what they say.
func TestSamba(t *testing.T) {
	dc := testenv.StartSamba(t)
	conn := dc.Conn(t)

	t.Run("PeopleAsDescribed", func(t *testing.T) {
		all := sambaSearch(t, conn, dc.PeopleDN, "(&(objectCategory=person)(objectClass=user))", "sAMAccountName")
		disabled := sambaSearch(t, conn, dc.PeopleDN, "(userAccountControl:1.2.840.113556.1.4.803:=2)", "sAMAccountName")
		if len(all) != testenv.SambaPeopleCount || len(disabled) != testenv.SambaPeopleCount/testenv.SambaDisabledEvery {
			t.Fatalf("OU=People has %d users, %d disabled; want %d, %d", len(all), len(disabled),
				testenv.SambaPeopleCount, testenv.SambaPeopleCount/testenv.SambaDisabledEvery)
		}
		people := testenv.SambaPeople()
		e := sambaSearch(t, conn, people[12].DN(), "(objectClass=*)", "displayName", "mail", "otherTelephone")[0]
		if got := e.GetAttributeValue("displayName"); got != "Zoë Ångström-Łukasiewicz 13" {
			t.Errorf("user00013 displayName = %q, want the non-ASCII name", got)
		}
		if e.GetAttributeValue("mail") != people[12].Email {
			t.Errorf("user00013 mail = %q, want %q", e.GetAttributeValue("mail"), people[12].Email)
		}
	})

	t.Run("PlainSimpleBindRefused", func(t *testing.T) {
		plain, err := ldap.DialURL(dc.URL)
		if err != nil {
			t.Fatalf("dial %s: %v", dc.URL, err)
		}
		defer plain.Close()
		plain.SetTimeout(10 * time.Second)
		if err := plain.Bind(dc.BindDN, dc.BindPassword); !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
			t.Fatalf("simple bind on plain LDAP: %v, want strongAuthRequired", err)
		}
	})

	t.Run("OwnCertificate", func(t *testing.T) {
		if dc.CertSerial.Sign() >= 0 {
			t.Errorf("the DC's certificate serial is %s, want a negative one as Samba writes", dc.CertSerial)
		}
		block, _ := pem.Decode([]byte(dc.CACertPEM))
		ca, err := x509.ParseCertificate(block.Bytes) // needs x509negativeserial=1 (go.mod)
		if err != nil {
			t.Fatalf("the DC's CA: %v", err)
		}
		if ca.Subject.CommonName != testenv.SambaServerName || len(ca.DNSNames) != 0 {
			t.Errorf("the DC's CA is %s with names %v", ca.Subject, ca.DNSNames)
		}
	})

	t.Run("Helpers", func(t *testing.T) {
		dn := dc.AddUser(t, testenv.SambaUser{Username: "helper1", GivenName: "Hel", Surname: "Per", DisplayName: "Hel Per"})
		before := dc.ObjectGUIDs(t)["helper1"]
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(before) {
			t.Fatalf("ObjectGUIDs[helper1] = %q, want a GUID", before)
		}
		dc.DisableUser(t, "helper1")
		requireUAC(t, conn, dn, "514")
		dc.EnableUser(t, "helper1")
		requireUAC(t, conn, dn, "512")
		expires := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
		dc.SetAccountExpires(t, "helper1", testenv.FileTime(expires))
		// 2020-01-02T03:04:05Z as AD FILETIME, computed independently.
		if got := sambaSearch(t, conn, dn, "(objectClass=*)", "accountExpires")[0].GetAttributeValue("accountExpires"); got != "132224078450000000" {
			t.Errorf("accountExpires = %s, want 132224078450000000", got)
		}
		newDN := dc.RenameUser(t, "helper1", "helper2")
		if !strings.HasPrefix(newDN, "CN=helper2,") || dc.UserDN(t, "helper2") != newDN {
			t.Errorf("renamed DN %s, found %s", newDN, dc.UserDN(t, "helper2"))
		}
		if after := dc.ObjectGUIDs(t)["helper2"]; after != before {
			t.Errorf("objectGUID after the rename = %s, want %s", after, before)
		}
		dc.DeleteUser(t, "helper2")
		if _, ok := dc.ObjectGUIDs(t)["helper2"]; ok {
			t.Error("helper2 is still there after DeleteUser")
		}
	})
}

// TestSambaIssuedCertificate checks that a DC given a certificate for its
// address verifies fully, and that two DCs run at once.
func TestSambaIssuedCertificate(t *testing.T) {
	dc := testenv.StartSamba(t, testenv.SambaIssuedCertificate())
	other := testenv.StartSamba(t)
	if dc.TLSPort == other.TLSPort {
		t.Fatalf("two DCs share port %d", dc.TLSPort)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(dc.CACertPEM)) {
		t.Fatal("CACertPEM holds no certificate")
	}
	conn, err := ldap.DialURL(dc.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatalf("LDAPS with full verification: %v", err)
	}
	defer conn.Close()
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(dc.BindDN, dc.BindPassword); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if dc.CertSerial.Sign() <= 0 {
		t.Errorf("issued certificate serial %s, want positive", dc.CertSerial)
	}
}

func sambaSearch(t *testing.T, conn *ldap.Conn, base, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil), 1000)
	if err != nil {
		t.Fatalf("search %s under %s: %v", filter, base, err)
	}
	return res.Entries
}

func requireUAC(t *testing.T, conn *ldap.Conn, dn, want string) {
	t.Helper()
	if got := sambaSearch(t, conn, dn, "(objectClass=*)", "userAccountControl")[0].GetAttributeValue("userAccountControl"); got != want {
		t.Errorf("userAccountControl of %s = %s, want %s", dn, got, want)
	}
}
