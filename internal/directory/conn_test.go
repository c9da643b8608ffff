package directory

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
)

const secretPassword = "S3cret-do-not-log"

func settingsFor(url string) domain.LDAPSettings {
	s := domain.DefaultLDAPSettings()
	s.URL = url
	s.BaseDN = "dc=example,dc=com"
	s.BindDN = "cn=admin,dc=example,dc=com"
	s.ConnectTimeoutSeconds = 2
	s.SearchTimeoutSeconds = 5
	return s
}

// requireStep checks that err is a *StepError for step whose message holds
// every one of want, and never the password.
func requireStep(t *testing.T, err error, step string, want ...string) {
	t.Helper()
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *StepError", err, err)
	}
	if se.Step != step {
		t.Fatalf("failed step = %s (%v), want %s", se.Step, err, step)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q does not contain %q", err.Error(), w)
		}
	}
	if strings.Contains(err.Error(), secretPassword) {
		t.Fatalf("message %q contains the bind password", err.Error())
	}
}

func TestDialAddress(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		startTLS bool
		want     string
	}{
		{"ErrScheme", "http://127.0.0.1:389", false, `scheme "http" is not supported`},
		{"ErrNoHost", "ldap://", false, "names no host"},
		{"ErrPort", "ldap://127.0.0.1:99999", false, `port "99999" is not a number`},
		{"ErrStartTLSOnLDAPS", "ldaps://127.0.0.1", true, "StartTLS applies to ldap:// URLs"},
		{"ErrNotAURL", "ldap://a b:389/%zz", false, "it is not a URL"},
		{"ErrUserInfoPasswordRedacted", "ldaps://admin:" + secretPassword + "@127.0.0.1", true, "ldaps://admin:xxxxx@127.0.0.1"},
		{"ErrUnknownHost", "ldap://no-such-host.invalid:389", false, "no-such-host.invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settingsFor(tt.url)
			s.StartTLS = tt.startTLS
			c, err := Dial(context.Background(), s, secretPassword)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			requireStep(t, err, StepAddress, "LDAP address", tt.want)
		})
	}
}

func TestDialTCPRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(context.Background(), settingsFor("ldap://"+addr), secretPassword)
	requireStep(t, err, StepTCP, "TCP connection to "+addr+" failed: connection refused")
}

// selfSigned returns a self-signed server certificate for the names and its PEM.
func selfSigned(t *testing.T, dnsName string, ips ...net.IP) (tls.Certificate, string) {
	t.Helper()
	key, der := signSelf(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake ldap"},
		IPAddresses: ips, DNSNames: []string{dnsName},
	})
	return certificatePair(key, der)
}

// signSelf signs tmpl with a fresh P-256 key as its own CA for server
// authentication, valid from an hour ago to an hour from now, and returns
// the key and the certificate's DER.
func signSelf(t *testing.T, tmpl *x509.Certificate) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.KeyUsage, tmpl.BasicConstraintsValid, tmpl.IsCA = x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign, true, true
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// certificatePair is the server certificate der with its key, and its PEM.
func certificatePair(key *ecdsa.PrivateKey, der []byte) (tls.Certificate, string) {
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// fakeServer accepts connections on loopback and hands each to serve.
func fakeServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// refuseStartTLS answers the first request with an extended response
// carrying protocolError, as a server without StartTLS does.
func refuseStartTLS(c net.Conn) {
	if _, err := ber.ReadPacket(c); err != nil {
		return
	}
	resp := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	resp.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "MessageID"))
	ext := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedResponse, nil, "Extended Response")
	ext.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(ldap.LDAPResultProtocolError), "resultCode"))
	ext.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	ext.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "unsupported extended operation", "diagnosticMessage"))
	resp.AppendChild(ext)
	_, _ = c.Write(resp.Bytes())
}

func TestDialTLSFailures(t *testing.T) {
	cert, caPEM := selfSigned(t, "localhost", net.IPv4(127, 0, 0, 1))
	ldaps := fakeServer(t, func(c net.Conn) {
		_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
	})
	otherCert, otherPEM := selfSigned(t, "ldap.example.test")
	otherName := fakeServer(t, func(c net.Conn) {
		_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{otherCert}}).Handshake()
	})
	plain := fakeServer(t, func(c net.Conn) {
		buf := make([]byte, 512)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00})
	})
	noStartTLS := fakeServer(t, refuseStartTLS)

	tests := []struct {
		name     string
		url      string
		startTLS bool
		ca       string
		want     string
	}{
		{"ErrUnknownAuthority", "ldaps://" + ldaps, false, "", "certificate signed by unknown authority"},
		{"ErrCACertNotPEM", "ldaps://" + ldaps, false, "not a certificate", "the CA certificate: This is not a PEM certificate"},
		{"ErrWrongHostName", "ldaps://" + otherName, false, otherPEM, "cannot validate certificate for 127.0.0.1"},
		{"ErrPlainPortForLDAPS", "ldaps://" + plain, false, caPEM, "is this a plain ldap:// port?"},
		{"ErrStartTLSRefused", "ldap://" + noStartTLS, true, caPEM, "the server refused StartTLS: protocol error (2): unsupported extended operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settingsFor(tt.url)
			s.StartTLS, s.CACert = tt.startTLS, tt.ca
			c, err := Dial(context.Background(), s, secretPassword)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			requireStep(t, err, StepTLS, "TLS handshake with", tt.want)
		})
	}
}

func TestDialCancelled(t *testing.T) {
	// A server that accepts and never answers: the bind waits until ctx ends.
	silent := fakeServer(t, func(c net.Conn) { time.Sleep(3 * time.Second) })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, settingsFor("ldap://"+silent), secretPassword)
	requireStep(t, err, StepBind, "Bind as cn=admin,dc=example,dc=com failed: timed out")
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Dial took %s after its context ended", took)
	}
}

func TestBindWithoutPasswordRefused(t *testing.T) {
	silent := fakeServer(t, func(c net.Conn) { time.Sleep(time.Second) })
	_, err := Dial(context.Background(), settingsFor("ldap://"+silent), "")
	requireStep(t, err, StepBind, "no bind password is set")
}
