package domain_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
)

// testCADER makes a self-signed CA certificate with serial 127.
func testCADER(t testing.TB, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(127), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// testCAPEM is n CA certificates as one PEM bundle.
func testCAPEM(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testCADER(t, "Test CA "+string(rune('A'+i)))}))
	}
	return b.String()
}

// negativeSerialDER is a certificate whose serial is -128, as Samba writes
// about half of its certificates: the serial's one byte 0x7f becomes 0x80.
func negativeSerialDER(t *testing.T) []byte {
	t.Helper()
	der := testCADER(t, "Samba CA")
	// version [0] { INTEGER 2 }, then serialNumber INTEGER (1 byte) 0x7f.
	at := bytes.Index(der, []byte{0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x7f})
	if at < 0 {
		t.Fatal("serial not found in the test certificate")
	}
	der[at+7] = 0x80
	return der
}

func TestParseCACertificates(t *testing.T) {
	t.Run("OKOne", func(t *testing.T) {
		certs, err := domain.ParseCACertificates(testCAPEM(t, 1))
		if err != nil || len(certs) != 1 || certs[0].Subject.CommonName != "Test CA A" {
			t.Fatalf("certs %v, err %v", certs, err)
		}
	})
	t.Run("OKBundle", func(t *testing.T) {
		if certs, err := domain.ParseCACertificates(testCAPEM(t, 3)); err != nil || len(certs) != 3 {
			t.Fatalf("%d certs, err %v", len(certs), err)
		}
	})
	t.Run("OKTextAroundTheBlock", func(t *testing.T) {
		// What openssl x509 -text writes: a description, then the PEM.
		text := "Certificate:\n    Data:\n        Version: 3 (0x2)\n" + testCAPEM(t, 1) + "\n# end of bundle\n"
		if _, err := domain.ParseCACertificates(text); err != nil {
			t.Fatal(err)
		}
	})

	block := func(typ string, b []byte) string { return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})) }
	bad := []struct{ name, text, want string }{
		{"ErrNotPEM", "junk", "This is not a PEM certificate: it must hold the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----."},
		{"ErrEmptyAfterTrim", "\n\n", "This is not a PEM certificate"},
		{"ErrBrokenBase64", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "Block 1 is not valid PEM"},
		{"ErrSecondBlockBroken", testCAPEM(t, 1) + "-----BEGIN CERTIFICATE-----\nAAAA", "Block 2 is not valid PEM"},
		{"ErrPrivateKey", block("EC PRIVATE KEY", []byte{1, 2, 3}), "Block 1 is a private key: never give a private key here"},
		{"ErrPublicKey", block("PUBLIC KEY", []byte{1, 2, 3}), "Block 1 is a PUBLIC KEY, not a CERTIFICATE"},
		{"ErrNotDER", block("CERTIFICATE", []byte("not DER")), "Certificate 1 cannot be read: x509: malformed certificate"},
		{"ErrSecondNotDER", testCAPEM(t, 1) + block("CERTIFICATE", []byte{0x30, 0x00}), "Certificate 2 cannot be read: x509:"},
		{"ErrNUL", "-----BEGIN CERTIFICATE-----\x00", "The value contains a NUL byte."},
		{"ErrInvalidUTF8", "\xff" + testCAPEM(t, 1), "The value is not valid UTF-8 text."},
		{"ErrOverlong", strings.Repeat("x", domain.MaxCACertLength+1), "The value is 65537 characters long; at most 65536 fit."},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := domain.ParseCACertificates(tc.text)
			fe := fieldErrors(t, err)
			if certs != nil || fe[0].Field != "ca_cert" || !strings.HasPrefix(fe[0].Message, tc.want) {
				t.Fatalf("certs %v, errors %+v; want a message at ca_cert starting %q", certs, fe, tc.want)
			}
		})
	}

	// Whether a negative serial is accepted is Go's x509negativeserial
	// setting (go.mod's godebug line decides); the rule reports exactly what
	// crypto/x509 says, never "not a PEM certificate".
	t.Run("NegativeSerialAsX509SaysIt", func(t *testing.T) {
		der := negativeSerialDER(t)
		_, x509Err := x509.ParseCertificate(der)
		certs, err := domain.ParseCACertificates(block("CERTIFICATE", der))
		switch {
		case x509Err == nil && err != nil:
			t.Fatalf("x509 accepts the certificate, the rule refuses it: %v", err)
		case x509Err == nil && certs[0].SerialNumber.Sign() >= 0:
			t.Fatalf("serial %v, want negative", certs[0].SerialNumber)
		case x509Err != nil:
			want := "Certificate 1 cannot be read: " + x509Err.Error()
			if msg := domain.ErrorMessage(err); msg != want {
				t.Fatalf("message %q, want %q", msg, want)
			}
			if !strings.Contains(x509Err.Error(), "negative serial number") {
				t.Errorf("x509 refuses it for another reason: %v", x509Err)
			}
		}
	})
}
