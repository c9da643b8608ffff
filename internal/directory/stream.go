package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// streamLink is a connection this package owns: requests are encoded with
// go-asn1-ber (a few per search, cheap), and answers are read by the
// streaming reader, which decodes each message in place in one reused
// buffer instead of building go-asn1-ber's packet tree. One request is in
// flight at a time, so no goroutine reads behind the caller's back.
type streamLink struct {
	conn    net.Conn
	r       *messageReader
	timeout time.Duration
	lastID  int64
	entry   rawEntry // reused for every entry of every page
	// broken is set once a response was cut short or could not be read:
	// where the next message starts is unknown, so the connection is
	// closed and every later request refused.
	broken    bool
	closeOnce sync.Once
	closeErr  error
}

func newStream(nc net.Conn, timeout time.Duration) *streamLink {
	// Message 1 may have gone to StartTLS on this connection.
	return &streamLink{conn: nc, r: newMessageReader(nc), timeout: timeout, lastID: 1}
}

// Errors worded as go-ldap words them, so that Describe says the same
// whichever reader ran: "no answer within the search timeout", "the
// connection to the directory was lost", "connection closed".
var (
	errTimedOut   = ldap.NewError(ldap.ErrorNetwork, errors.New(ldapRequestTimeout))
	errLinkClosed = ldap.NewError(ldap.ErrorNetwork, errors.New("ldap: connection closed"))
)

func lostConnection(err error) error {
	return ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("%s: %v", ldapLostRead, err))
}

// Close closes the connection; it may be called more than once, and from
// another goroutine while a request waits.
func (l *streamLink) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.conn.Close() })
	return l.closeErr
}

func (l *streamLink) TLSConnectionState() (tls.ConnectionState, bool) {
	if tc, ok := l.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// Bind does a simple bind (RFC 4511 4.2). Conn.bind bounds it by its
// context and refuses an empty password before it gets here.
func (l *streamLink) Bind(dn, password string) error {
	id := l.nextID()
	if err := l.send(bindRequest(id, dn, password)); err != nil {
		return err
	}
	msg, err := l.read(true)
	if err != nil {
		return err
	}
	if msg.id != id || msg.opTag != tagBindResponse {
		return l.fail(unexpected(msg, id))
	}
	r, err := decodeResult(msg.op, "bind response")
	if err != nil {
		return l.fail(err)
	}
	return r.err()
}

// searchPage implements link: one request, then every message of its
// answer until the SearchResultDone.
func (l *streamLink) searchPage(ctx context.Context, req *pageRequest, entry func(*rawEntry)) (pageEnd, error) {
	if err := ctx.Err(); err != nil {
		return pageEnd{}, err
	}
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	end, err := l.exchange(ctx, req, entry)
	if !stop() && ctx.Err() != nil {
		l.broken = true
		return pageEnd{}, ctx.Err()
	}
	return end, err
}

func (l *streamLink) exchange(ctx context.Context, req *pageRequest, entry func(*rawEntry)) (pageEnd, error) {
	id := l.nextID()
	packet, err := searchRequest(id, req)
	if err != nil {
		return pageEnd{}, err
	}
	if err := l.send(packet); err != nil {
		return pageEnd{}, err
	}
	var end pageEnd
	for first := true; ; first = false {
		msg, err := l.read(first)
		if err != nil {
			return pageEnd{}, err
		}
		if msg.id != id {
			return pageEnd{}, l.fail(unexpected(msg, id))
		}
		switch msg.opTag {
		case tagSearchEntry:
			if err := decodeEntry(msg.op, &l.entry); err != nil {
				return pageEnd{}, l.fail(err)
			}
			entry(&l.entry)
		case tagSearchReference:
			uri, err := firstReference(msg.op)
			if err != nil {
				return pageEnd{}, l.fail(err)
			}
			end.referrals = append(end.referrals, string(uri))
		case tagSearchDone:
			return l.done(msg, end)
		default:
			return pageEnd{}, l.fail(unexpected(msg, id))
		}
		// Between messages: a search whose context ended stops here even
		// while the buffer still holds answers.
		if err := ctx.Err(); err != nil {
			return pageEnd{}, err
		}
	}
}

// done decodes the SearchResultDone: the result, then the paging cookie,
// copied out of the buffer for the next request.
func (l *streamLink) done(msg message, end pageEnd) (pageEnd, error) {
	r, err := decodeResult(msg.op, "search result done")
	if err != nil {
		return pageEnd{}, l.fail(err)
	}
	if err := r.err(); err != nil {
		return pageEnd{}, err
	}
	cookie, err := pagingCookie(msg.controls)
	if err != nil {
		return pageEnd{}, l.fail(err)
	}
	if cookie != nil {
		end.cookie = append([]byte(nil), cookie...)
	}
	return end, nil
}

func (l *streamLink) nextID() int64 {
	l.lastID++
	return l.lastID
}

// send writes one request within the timeout, which also bounds reading
// its whole answer.
func (l *streamLink) send(packet []byte) error {
	if l.broken {
		return errLinkClosed
	}
	if err := l.conn.SetDeadline(time.Now().Add(l.timeout)); err != nil {
		return l.fail(&ioError{err})
	}
	if _, err := l.conn.Write(packet); err != nil {
		return l.fail(&ioError{err})
	}
	return nil
}

// read returns the next message, decoded as far as its envelope. first
// says it is the first of a request's answer: a server that is gone
// before answering at all had closed the connection, and go-ldap, which
// notices that as it happens, calls it so.
func (l *streamLink) read(first bool) (message, error) {
	content, err := l.r.next()
	if err != nil {
		if first && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			_ = l.fail(err)
			return message{}, errLinkClosed
		}
		return message{}, l.fail(err)
	}
	msg, err := parseMessage(content)
	if err != nil {
		return message{}, l.fail(err)
	}
	return msg, nil
}

// fail closes the connection after a response that could not be read to
// its end, and words a stream failure as go-ldap does.
func (l *streamLink) fail(err error) error {
	l.broken = true
	_ = l.Close()
	var ioe *ioError
	if !errors.As(err, &ioe) {
		return err
	}
	var ne net.Error
	if errors.As(ioe.err, &ne) && ne.Timeout() {
		return errTimedOut
	}
	return lostConnection(ioe.err)
}

// bindRequest encodes a simple BindRequest (RFC 4511 4.2).
func bindRequest(id int64, dn, password string) []byte {
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindRequest, nil, "Bind Request")
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "Version"))
	req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "User Name"))
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, "Password"))
	return envelopeBytes(id, req, nil)
}

// searchRequest encodes a SearchRequest (RFC 4511 4.5.1), with the paged
// results control (RFC 2696) when the request is paged.
func searchRequest(id int64, r *pageRequest) ([]byte, error) {
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchRequest, nil, "Search Request")
	req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, r.baseDN, "Base DN"))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(r.scope), "Scope"))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(ldap.NeverDerefAliases), "Deref Aliases"))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(r.sizeLimit), "Size Limit"))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(r.timeLimit), "Time Limit"))
	req.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, "Types Only"))
	if r.compiled == nil {
		return nil, errors.New("directory: search request without a compiled filter")
	}
	req.AppendChild(r.compiled)
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, a := range r.attrs {
		attrs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, "Attribute"))
	}
	req.AppendChild(attrs)
	var controls *ber.Packet
	if r.paged {
		paging := ldap.NewControlPaging(r.pageSize)
		paging.SetCookie(r.cookie)
		controls = ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		controls.AppendChild(paging.Encode())
	}
	return envelopeBytes(id, req, controls), nil
}

func envelopeBytes(id int64, op, controls *ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	p.AppendChild(op)
	if controls != nil {
		p.AppendChild(controls)
	}
	return p.Bytes()
}
