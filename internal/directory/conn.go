// Package directory is the LDAP client of the batch jobs: it connects to the
// directory (ldap://, StartTLS, ldaps://), binds, runs paged searches that
// hand the engine one page at a time, maps entries to domain.Person, and
// tests a connection step by step for the LDAP connection page.
//
// Every failure is a *StepError naming the step that failed. The bind
// password is only ever passed to the bind: it is never logged, never part of
// an error and never kept.
package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
)

// Fallbacks for settings left at zero: go-ldap's own default is no request
// timeout at all, which would let a hung server hang a job forever.
const (
	defaultConnectTimeout = 10 * time.Second
	defaultSearchTimeout  = 120 * time.Second
	defaultPageSize       = 500
)

// Conn is a bound connection to the directory. It runs one search at a
// time: the paging cookie belongs to the connection. Close it when done.
type Conn struct {
	conn      link
	settings  domain.LDAPSettings
	log       *slog.Logger
	referrals int
}

// Dial connects to the directory that s describes and binds as s.BindDN with
// bindPassword (anonymously when s.BindDN is empty). ctx bounds the whole
// connect; s.ConnectTimeoutSeconds bounds TCP and TLS, and every later
// request is bounded by s.SearchTimeoutSeconds. Errors are *StepError.
func Dial(ctx context.Context, s domain.LDAPSettings, bindPassword string) (*Conn, error) {
	return dial(ctx, s, bindPassword, nil)
}

// SetLogger sets where the connection reports what it ignores (referrals).
func (c *Conn) SetLogger(l *slog.Logger) {
	if l != nil {
		c.log = l
	}
}

// Referrals returns how many referrals this connection's searches received
// and ignored: the product reads one directory and never chases them.
func (c *Conn) Referrals() int { return c.referrals }

// Close unbinds and closes the connection.
func (c *Conn) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("directory: close: %w", err)
	}
	return nil
}

// recorder receives each connection step as it ends; Test builds its report
// from them. err is nil for a step that succeeded.
type recorder func(name string, took time.Duration, detail string, err error)

// target is where the URL says to connect, and how.
type target struct {
	host     string // host name for TLS verification
	addr     string // host:port to dial
	ldaps    bool
	startTLS bool
}

func (t target) usesTLS() bool { return t.ldaps || t.startTLS }

func (t target) describe() string {
	switch {
	case t.ldaps:
		return "LDAPS (TLS from the first byte)"
	case t.startTLS:
		return "LDAP with StartTLS"
	}
	return "plain LDAP, not encrypted: the bind password crosses the network in clear text"
}

func seconds(n int, fallback time.Duration) time.Duration {
	if n <= 0 {
		return fallback
	}
	return time.Duration(n) * time.Second
}

// parseTarget checks the URL and the StartTLS choice without touching the network.
func parseTarget(s domain.LDAPSettings) (target, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return target{}, errors.New("it is not a URL; use ldap://host:389 or ldaps://host:636")
	}
	var t target
	port := u.Port()
	switch u.Scheme {
	case "ldap":
		if port == "" {
			port = ldap.DefaultLdapPort
		}
		t.startTLS = s.StartTLS
	case "ldaps":
		if port == "" {
			port = ldap.DefaultLdapsPort
		}
		if s.StartTLS {
			return target{}, errors.New("StartTLS applies to ldap:// URLs; ldaps:// is already encrypted")
		}
		t.ldaps = true
	default:
		return target{}, fmt.Errorf("scheme %q is not supported; use ldap:// or ldaps://", u.Scheme)
	}
	if u.Hostname() == "" {
		return target{}, errors.New("it names no host; use ldap://host:389 or ldaps://host:636")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return target{}, fmt.Errorf("port %q is not a number between 1 and 65535", port)
	}
	t.host = u.Hostname()
	t.addr = net.JoinHostPort(t.host, port)
	return t, nil
}

// tlsConfig trusts only the configured CA when there is one (a private CA is
// the usual case for a directory), else the system roots.
func tlsConfig(s domain.LDAPSettings, host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: s.InsecureSkipVerify} //nolint:gosec // only when the administrator chose it, shown with a warning
	if s.CACert != "" {
		pool, err := caPool(s.CACert)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// caPool trusts the certificates of the CA setting, read by the domain's
// one rule (domain.ParseCACertificates): each PEM block with crypto/x509, so
// that a certificate Go refuses is named with its own reason rather than as
// "not PEM" (which CertPool.AppendCertsFromPEM would suggest by skipping it).
func caPool(text string) (*x509.CertPool, error) {
	certs, err := domain.ParseCACertificates(text)
	if err != nil {
		return nil, fmt.Errorf("the CA certificate: %s", domain.ErrorMessage(err))
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func dial(ctx context.Context, s domain.LDAPSettings, bindPassword string, rec recorder, opts ...dialOption) (*Conn, error) {
	if rec == nil {
		rec = func(string, time.Duration, string, error) {}
	}
	step := func(name, subject string, start time.Time, detail string, err error) error {
		if err != nil {
			se := &StepError{Step: name, Subject: subject, Err: err}
			rec(name, time.Since(start), se.Error(), se)
			return se
		}
		rec(name, time.Since(start), detail, nil)
		return nil
	}
	connectTimeout := seconds(s.ConnectTimeoutSeconds, defaultConnectTimeout)

	// Address: the URL, then the name lookup, so that a typo in the host is
	// told apart from a server that does not answer.
	start := time.Now()
	t, err := parseTarget(s)
	if err == nil && net.ParseIP(t.host) == nil {
		lctx, cancel := context.WithTimeout(ctx, connectTimeout)
		_, err = net.DefaultResolver.LookupHost(lctx, t.host)
		cancel()
	}
	if err := step(StepAddress, strconv.Quote(redactURL(s.URL)), start, fmt.Sprintf("%s, %s", t.addr, t.describe()), err); err != nil {
		return nil, err
	}

	start = time.Now()
	d := net.Dialer{Timeout: connectTimeout}
	raw, err := d.DialContext(ctx, "tcp", t.addr)
	if err := step(StepTCP, t.addr, start, "Connected to "+t.addr, err); err != nil {
		return nil, err
	}

	var nc net.Conn = raw
	if t.usesTLS() {
		start = time.Now()
		tc, detail, err := handshake(ctx, raw, s, t, connectTimeout)
		if err := step(StepTLS, t.addr, start, detail, err); err != nil {
			_ = raw.Close()
			return nil, err
		}
		nc = tc
	}

	lc := newLink(nc, t.usesTLS(), seconds(s.SearchTimeoutSeconds, defaultSearchTimeout), opts)
	c := &Conn{conn: lc, settings: s, log: slog.Default()}

	start = time.Now()
	err = c.bind(ctx, s.BindDN, bindPassword)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) && !t.usesTLS() {
		err = &hinted{err, "this directory takes a password only over an encrypted connection: use an ldaps:// URL (port 636) or StartTLS"}
	}
	if err := step(StepBind, bindSubject(s.BindDN), start, bindDetail(s.BindDN), err); err != nil {
		_ = lc.Close()
		return nil, err
	}
	if s.InsecureSkipVerify && t.usesTLS() {
		c.log.Warn("directory: TLS certificate verification is switched off", "url", s.URL)
	}
	return c, nil
}

// redactURL hides a password someone put into the URL's user info.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}

func bindSubject(dn string) string {
	if dn == "" {
		return "anonymous"
	}
	return dn
}

func bindDetail(dn string) string {
	if dn == "" {
		return "No bind DN: searching anonymously"
	}
	return "Bound as " + dn
}

// bind does the simple bind; the link has no context, so a cancelled ctx
// closes the connection under it.
func (c *Conn) bind(ctx context.Context, dn, password string) error {
	if dn == "" {
		return nil
	}
	if password == "" {
		// An empty password would be an unauthenticated bind (RFC 4513 5.1.2):
		// it "succeeds" and then reads nothing.
		return errors.New("no bind password is set")
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.Close() })
	defer stop()
	if err := c.conn.Bind(dn, password); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// handshake does StartTLS (on ldap://) and the TLS handshake on raw, within
// the connect timeout. StartTLS is sent here, before go-ldap takes the
// connection, so that a certificate failure keeps its x509 type and the
// whole exchange is bounded by a deadline (go-ldap's StartTLS has none for
// the handshake).
func handshake(ctx context.Context, raw net.Conn, s domain.LDAPSettings, t target, timeout time.Duration) (*tls.Conn, string, error) {
	cfg, err := tlsConfig(s, t.host)
	if err != nil {
		return nil, "", err
	}
	if err := raw.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, "", err
	}
	if t.startTLS {
		if err := startTLS(raw); err != nil {
			return nil, "", err
		}
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if t.ldaps && errors.Is(err, io.EOF) {
			// slapd hangs up on a ClientHello sent to its plain port.
			return nil, "", errors.New("the server closed the connection during the handshake (is this a plain ldap:// port?)")
		}
		return nil, "", err
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		return nil, "", err
	}
	st := tc.ConnectionState()
	detail := fmt.Sprintf("%s, %s", tls.VersionName(st.Version), t.describe())
	if len(st.PeerCertificates) > 0 {
		leaf := st.PeerCertificates[0]
		detail += fmt.Sprintf("; certificate %q issued by %q", FormatDN(leaf.RawSubject), FormatDN(leaf.RawIssuer))
	}
	if s.InsecureSkipVerify {
		detail += "; WARNING: the certificate was NOT verified"
	}
	return tc, detail, nil
}

// startTLS sends the StartTLS extended operation (RFC 4511 4.14) as message 1
// and reads its response.
func startTLS(raw net.Conn) error {
	const oidStartTLS = "1.3.6.1.4.1.1466.20037"
	packet := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	packet.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "MessageID"))
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedRequest, nil, "Start TLS")
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidStartTLS, "TLS Extended Command"))
	packet.AppendChild(req)
	if _, err := raw.Write(packet.Bytes()); err != nil {
		return &explained{"sending StartTLS failed", err}
	}
	resp, err := ber.ReadPacket(raw)
	if err != nil {
		return &explained{"the server did not answer StartTLS", err}
	}
	if err := ldap.GetLDAPError(resp); err != nil {
		return &explained{"the server refused StartTLS", err}
	}
	return nil
}

// Names of the attribute types that certificate subjects and issuers use
// (RFC 4514 3, RFC 4519, and the ones Active Directory CAs add). Go's
// pkix.Name.String knows only some of them and writes the others as an OID
// and hex, so that an AD CA's DC=example,DC=com became
// 0.9.2342.19200300.100.1.25=#13076578616d706c65.
var dnAttributeNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "SERIALNUMBER", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
	"2.5.4.17": "postalCode", "2.5.4.42": "GN", "2.5.4.43": "initials", "2.5.4.46": "dnQualifier",
	"2.5.4.65": "pseudonym", "0.9.2342.19200300.100.1.1": "UID", "0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1": "emailAddress",
}

// FormatDN writes a certificate's DER subject or issuer as an RFC 4514
// string that people can read: most specific first, attribute types by
// name (CN=example-CA,DC=example,DC=com), values escaped, and only a value
// that is not text as #hex. Input that does not parse is shown as hex.
func FormatDN(der []byte) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) > 0 {
		return "#" + hex.EncodeToString(der)
	}
	rdns := make([]string, 0, len(seq))
	for i := len(seq) - 1; i >= 0; i-- {
		parts := make([]string, 0, len(seq[i]))
		for _, atv := range seq[i] {
			name, ok := dnAttributeNames[atv.Type.String()]
			if !ok {
				name = atv.Type.String()
			}
			parts = append(parts, name+"="+dnValue(atv.Value))
		}
		rdns = append(rdns, strings.Join(parts, "+"))
	}
	return strings.Join(rdns, ",")
}

// dnValue escapes a text value (RFC 4514 2.4); anything else is written as
// the hex of its DER encoding.
func dnValue(v any) string {
	if s, ok := v.(string); ok {
		return ldap.EscapeDN(s)
	}
	der, err := asn1.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return "#" + hex.EncodeToString(der)
}
