package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/go-ldap/ldap/v3"
)

// Step names: the stages of reaching and reading the directory, in order.
// A StepError names the one that failed; a Test report lists them.
const (
	StepAddress  = "address" // the URL parses and its host resolves
	StepTCP      = "tcp"     // a TCP connection opens
	StepTLS      = "tls"     // StartTLS or the LDAPS handshake succeeds and the certificate verifies
	StepBind     = "bind"    // the simple bind with the bind DN succeeds
	StepBaseDN   = "base_dn" // the base entry exists and can be read
	StepFilter   = "filter"  // the filter is syntactically valid
	StepSearch   = "search"  // the paged search runs to its end
	StepActive   = "active_filter"
	StepInactive = "inactive_filter"
)

// StepError says which step of reaching or reading the directory failed, on
// what, and why, in words a person can act on. It never carries the bind
// password: no code path puts it into Subject or Err.
type StepError struct {
	Step    string // one of the Step constants
	Subject string // what the step was about: the URL, host:port, bind DN, base DN or filter
	Page    int    // for StepSearch: the page that failed (1-based), 0 when unknown
	Err     error
}

// stepFailures say, for each step, what failed; the subject fills the %s
// and the cause follows.
var stepFailures = map[string]string{
	StepAddress: "LDAP address %s is not usable",
	StepTCP:     "TCP connection to %s failed",
	StepTLS:     "TLS handshake with %s failed",
	StepBind:    "Bind as %s failed",
	StepBaseDN:  "Base DN %s could not be read",
	StepFilter:  "Filter %s is not valid",
	StepSearch:  "Search with filter %s failed",
}

func (e *StepError) Error() string {
	cause := Describe(e.Err)
	if e.Step == StepSearch && e.Page > 0 {
		return fmt.Sprintf("Search with filter %s failed on page %d: %s", e.Subject, e.Page, cause)
	}
	if failed, ok := stepFailures[e.Step]; ok {
		return fmt.Sprintf(failed, e.Subject) + ": " + cause
	}
	return fmt.Sprintf("%s %s failed: %s", e.Step, e.Subject, cause)
}

func (e *StepError) Unwrap() error { return e.Err }

// FailedStep returns the step named by the first StepError in err's chain,
// or "" when there is none.
func FailedStep(err error) string {
	var se *StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return ""
}

// explained puts what was being done in front of a cause that Describe
// would otherwise reduce to its innermost error.
type explained struct {
	what string
	err  error
}

func (e *explained) Error() string { return e.what + ": " + e.err.Error() }
func (e *explained) Unwrap() error { return e.err }

// hinted puts what to do after the cause.
type hinted struct {
	err  error
	hint string
}

func (e *hinted) Error() string { return e.err.Error() + "; " + e.hint }
func (e *hinted) Unwrap() error { return e.err }

// Texts of go-ldap errors that are not exported as values: the connection
// closed under a waiting request, and the per-request timeout.
const (
	ldapLostRespChan   = "response channel closed"
	ldapLostRead       = "unable to read LDAP response packet"
	ldapRequestTimeout = "ldap: connection timed out"
)

// Describe turns an error from the network, TLS or go-ldap into a short cause
// a person understands ("connection refused", "invalid credentials (49)",
// "certificate signed by unknown authority").
func Describe(err error) string {
	if err == nil {
		return "no error"
	}
	if ex, ok := err.(*explained); ok {
		return ex.what + ": " + Describe(ex.err)
	}
	if h, ok := err.(*hinted); ok {
		return Describe(h.err) + "; " + h.hint
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	if msg, ok := describeLDAP(err); ok {
		return msg
	}
	if msg := describeCertificate(err); msg != "" {
		return msg
	}
	if msg := describeTLS(err); msg != "" {
		return msg
	}
	if msg, ok := describeNetwork(err); ok {
		return msg
	}
	return describeText(err.Error())
}

// describeLDAP names an LDAP result code with its diagnostic message, and
// describes what lies under go-ldap's network errors; ok is false when err
// is neither.
func describeLDAP(err error) (string, bool) {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return "", false
	}
	if le.ResultCode < ldap.ErrorNetwork {
		name := strings.ToLower(ldap.LDAPResultCodeMap[le.ResultCode])
		if name == "" {
			name = "result code"
		}
		msg := fmt.Sprintf("%s (%d)", name, le.ResultCode)
		if le.Err != nil {
			if diag := strings.TrimSpace(le.Err.Error()); diag != "" {
				msg += ": " + diag
			}
		}
		return msg, true
	}
	if le.Err != nil {
		return Describe(le.Err), true
	}
	return "", false
}

// describeTLS names a server that does not speak TLS or refused the
// handshake, or returns "" when err is about neither.
func describeTLS(err error) string {
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		return "the server did not answer with TLS (is this a plain ldap:// port?)"
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return "the server refused the TLS handshake: " + alert.Error()
	}
	return ""
}

// describeNetwork describes a failed name lookup, a timeout, a system call's
// error and a closed connection; ok is false when err is none of these.
func describeNetwork(err error) (string, bool) {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return fmt.Sprintf("host %s not found", dnsErr.Name), true
		}
		return "name lookup failed: " + dnsErr.Err, true
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return "timed out", true
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error(), true
	}
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) {
		return Describe(sysErr.Err), true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return Describe(opErr.Err), true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the server closed the connection", true
	}
	return "", false
}

// describeText reads what go-ldap says only in words: its per-request
// timeout and a connection lost under a waiting request; anything else is
// its message without go-ldap's prefix.
func describeText(msg string) string {
	switch {
	case strings.Contains(msg, ldapRequestTimeout):
		return "no answer within the search timeout"
	case strings.Contains(msg, ldapLostRespChan), strings.Contains(msg, ldapLostRead):
		return "the connection to the directory was lost"
	}
	return strings.TrimPrefix(msg, "ldap: ")
}

// describeCertificate names what is wrong with the server's certificate,
// or returns "" when err is not about one.
func describeCertificate(err error) string {
	var (
		hostErr   x509.HostnameError
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		verr      *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &hostErr):
		if c := hostErr.Certificate; c != nil && len(c.DNSNames) == 0 && len(c.IPAddresses) == 0 {
			// Samba's self-signed certificate is like this, and so are old
			// ones from other CAs.
			return fmt.Sprintf("the certificate names its server only in its subject (%s) and has no subject alternative name, "+
				"which TLS clients require to match %s (RFC 6125); give the directory a certificate whose subject "+
				"alternative names include %s", FormatDN(c.RawSubject), hostErr.Host, hostErr.Host)
		}
		return strings.TrimPrefix(hostErr.Error(), "x509: ")
	case errors.As(err, &unknownCA):
		return strings.TrimPrefix(unknownCA.Error(), "x509: ")
	case errors.As(err, &invalid):
		return strings.TrimPrefix(invalid.Error(), "x509: ")
	case errors.As(err, &verr) && verr.Err != nil:
		return strings.TrimPrefix(verr.Err.Error(), "x509: ")
	case strings.Contains(err.Error(), "x509: negative serial number"):
		return "the server's certificate has a negative serial number; " + negativeSerialHint
	}
	return ""
}

// negativeSerialHint is said only when GODEBUG overrides go.mod's
// x509negativeserial=1.
const negativeSerialHint = "Samba writes such serials, and this program accepts them only with GODEBUG " +
	"x509negativeserial=1, its default: remove x509negativeserial=0 from GODEBUG"
