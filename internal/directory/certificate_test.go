package directory

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"idm/internal/domain"
)

func TestFormatDN(t *testing.T) {
	atv := func(id asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: id, Value: v}
	}
	var (
		dc    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
		uid   = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
		email = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
		cn    = asn1.ObjectIdentifier{2, 5, 4, 3}
		c     = asn1.ObjectIdentifier{2, 5, 4, 6}
		l     = asn1.ObjectIdentifier{2, 5, 4, 7}
		st    = asn1.ObjectIdentifier{2, 5, 4, 8}
		o     = asn1.ObjectIdentifier{2, 5, 4, 10}
		ou    = asn1.ObjectIdentifier{2, 5, 4, 11}
	)
	tests := []struct {
		name string
		rdns pkix.RDNSequence
		want string
	}{
		{"ADEnterpriseCA", pkix.RDNSequence{{atv(dc, "com")}, {atv(dc, "example")}, {atv(cn, "example-DC1-CA")}},
			"CN=example-DC1-CA,DC=example,DC=com"},
		{"CountryStateLocality", pkix.RDNSequence{{atv(c, "SE")}, {atv(st, "Stockholm")}, {atv(l, "Solna")}, {atv(o, "Example AB")}},
			"O=Example AB,L=Solna,ST=Stockholm,C=SE"},
		{"EmailAndUID", pkix.RDNSequence{{atv(ou, "IT")}, {atv(uid, "ldap"), atv(email, "ldap@example.com")}},
			"UID=ldap+emailAddress=ldap@example.com,OU=IT"},
		{"Escaped", pkix.RDNSequence{{atv(cn, "Smith, John + co")}, {atv(cn, "#1 ")}},
			`CN=\#1\ ,CN=Smith\, John \+ co`},
		{"UnknownTypeByOID", pkix.RDNSequence{{atv(asn1.ObjectIdentifier{1, 2, 3, 4}, "x")}}, "1.2.3.4=x"},
		{"NotTextAsHex", pkix.RDNSequence{{atv(cn, 7)}}, "CN=#020107"},
		{"NonASCII", pkix.RDNSequence{{atv(cn, "Zoë Ångström")}}, "CN=Zoë Ångström"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := asn1.Marshal(tt.rdns)
			if err != nil {
				t.Fatal(err)
			}
			if got := FormatDN(der); got != tt.want {
				t.Errorf("FormatDN = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("NotADNAsHex", func(t *testing.T) {
		if got := FormatDN([]byte{0x01, 0x02}); got != "#0102" {
			t.Errorf("FormatDN(garbage) = %q", got)
		}
	})
}

// negativeSerialCert is a self-signed certificate for 127.0.0.1 with a
// negative serial, as Samba writes them. crypto/x509 refuses to make one,
// so a fresh certificate's serial is replaced and its body signed again.
func negativeSerialCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, der := signSelf(t, &x509.Certificate{
		SerialNumber: big.NewInt(0x2c69f195), Subject: pkix.Name{CommonName: "negative serial"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	in := cryptobyte.String(der)
	var body cryptobyte.String
	var tbs, alg []byte
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1Element((*cryptobyte.String)(&tbs), cbasn1.SEQUENCE) ||
		!body.ReadASN1Element((*cryptobyte.String)(&alg), cbasn1.SEQUENCE) {
		t.Fatal("cannot split the certificate")
	}
	// INTEGER 0x2c69f195 becomes INTEGER 0xd3960e6b, which is -0x2c69f195.
	tbs = bytes.Replace(tbs, []byte{2, 4, 0x2c, 0x69, 0xf1, 0x95}, []byte{2, 4, 0xd3, 0x96, 0x0e, 0x6b}, 1)
	digest := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(alg)
		b.AddASN1BitString(sig)
	})
	return certificatePair(key, b.BytesOrPanic())
}

// TestNegativeSerialAccepted shows the decision go.mod's godebug line makes
// (see README, "Active Directory"): a certificate with a negative serial is
// accepted as a CA and from the server, verified or not. Without the line
// both cases fail with "x509: negative serial number".
func TestNegativeSerialAccepted(t *testing.T) {
	cert, certPEM := negativeSerialCert(t)
	if c, err := x509.ParseCertificate(cert.Certificate[0]); err != nil || c.SerialNumber.Sign() >= 0 {
		t.Fatalf("the test certificate: serial %v, %v", c, err)
	}
	ldaps := fakeServer(t, func(c net.Conn) {
		_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
	})
	verified := settingsFor("ldaps://" + ldaps)
	verified.CACert = certPEM
	skipped := settingsFor("ldaps://" + ldaps)
	skipped.InsecureSkipVerify = true
	tests := []struct {
		name string
		set  domain.LDAPSettings
		want string
	}{
		{"OKVerifiedWithItAsTheCA", verified, `certificate "CN=negative serial" issued by "CN=negative serial"`},
		{"OKSkipVerify", skipped, "the certificate was NOT verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The fake server only shakes hands: the bind after it fails.
			r := Test(context.Background(), tt.set, secretPassword)
			if st := r.Steps[2]; st.Name != StepTLS || !st.OK || !strings.Contains(st.Detail, tt.want) {
				t.Fatalf("TLS step %+v, want OK saying %q", st, tt.want)
			}
		})
	}
}

func TestCAPool(t *testing.T) {
	_, good := negativeSerialCert(t)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}))
	badDER := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}))
	tests := []struct {
		name, pem, want string
	}{
		{"OKNegativeSerial", good, ""},
		{"OKTwoCertificates", good + good, ""},
		{"ErrNotPEM", "MIIB...", "the CA certificate: This is not a PEM certificate"},
		{"ErrPrivateKey", good + keyPEM, "the CA certificate: Block 2 is a private key"},
		{"ErrMalformed", badDER, "the CA certificate: Certificate 1 cannot be read: x509: malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := caPool(tt.pem)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("caPool: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("caPool error %v, want %q", err, tt.want)
			}
		})
	}
}
