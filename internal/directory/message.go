package directory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/go-ldap/ldap/v3"
)

// messageReader reads LDAP messages (RFC 4511 4.1.1) from a buffered
// stream into one reused buffer. A message's content is valid until the
// next call of next.
type messageReader struct {
	r   *bufio.Reader
	buf []byte
	max int // largest message content accepted, in bytes
}

const (
	// readChunk is the least the buffer grows by while a long message
	// arrives, so that a message claiming to be large costs memory only as
	// its bytes come in.
	readChunk = 64 << 10
	// keepBytes is the largest buffer kept between messages: one large
	// message must not pin its size for the rest of the connection.
	keepBytes = 256 << 10
)

func newMessageReader(r io.Reader) *messageReader {
	return &messageReader{r: bufio.NewReaderSize(r, readChunk), max: maxMessageBytes}
}

// ioError is a failure of the stream itself (closed, reset, timed out), as
// opposed to a message that arrived malformed.
type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// next reads one message and returns the content of its outer SEQUENCE.
// Errors are *ioError or *malformedError.
func (m *messageReader) next() ([]byte, error) {
	if cap(m.buf) > keepBytes {
		m.buf = nil
	}
	tag, err := m.r.ReadByte()
	if err != nil {
		return nil, &ioError{err}
	}
	if tag != tagSequence {
		return nil, malformed("message", "it starts with 0x%02x, not a SEQUENCE", tag)
	}
	n, err := m.readLength()
	if err != nil {
		return nil, err
	}
	if n > m.max {
		return nil, malformed("message", "%d bytes, over the limit of %d", n, m.max)
	}
	return m.readContent(n)
}

// readLength reads the message's length octets from the stream, one at a
// time (a header array would escape to the heap through io.ReadFull).
func (m *messageReader) readLength() (int, error) {
	first, err := m.r.ReadByte()
	if err != nil {
		return 0, &ioError{ioUnexpected(err)}
	}
	if first < 0x80 {
		return int(first), nil
	}
	if first == 0x80 || first > 0x84 {
		_, _, err := parseLength([]byte{first})
		return 0, malformed("message", "%v", err)
	}
	n := 0
	for range first & 0x7f {
		o, err := m.r.ReadByte()
		if err != nil {
			return 0, &ioError{ioUnexpected(err)}
		}
		n = n<<8 | int(o)
	}
	return n, nil
}

// readContent reads n bytes into the buffer, growing it only as bytes
// arrive: a length claimed but never sent allocates at most one chunk more
// than what was received.
func (m *messageReader) readContent(n int) ([]byte, error) {
	if n <= cap(m.buf) {
		buf := m.buf[:n]
		if _, err := io.ReadFull(m.r, buf); err != nil {
			return nil, &ioError{ioUnexpected(err)}
		}
		return buf, nil
	}
	buf := m.buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, max(2*cap(buf), readChunk)))
			copy(grown, buf)
			buf = grown
		}
		k, err := m.r.Read(buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+k]
		if err != nil && len(buf) < n {
			return nil, &ioError{ioUnexpected(err)}
		}
	}
	m.buf = buf
	return buf, nil
}

// ioUnexpected turns an EOF inside a message into io.ErrUnexpectedEOF.
func ioUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// message is one decoded LDAPMessage envelope.
type message struct {
	id       int64
	opTag    byte
	op       []byte // the protocolOp's content
	controls []byte // the content of [0] Controls; nil when absent
}

// parseMessage walks the envelope: messageID, protocolOp, optional controls.
func parseMessage(content []byte) (message, error) {
	c := cursor{rest: content, depth: 1}
	idBytes, err := c.expect(tagInteger, "message ID")
	if err != nil {
		return message{}, err
	}
	id, err := parseInt(idBytes, math.MaxInt32, "message ID")
	if err != nil {
		return message{}, err
	}
	tag, op, err := c.next("protocol operation")
	if err != nil {
		return message{}, err
	}
	msg := message{id: id, opTag: tag, op: op}
	if c.more() {
		ctag, controls, err := c.next("controls")
		if err != nil {
			return message{}, err
		}
		if ctag == tagControls {
			msg.controls = controls
		}
	}
	return msg, nil
}

// rawEntry is a SearchResultEntry as decoded: the DN and every attribute's
// type and values, in the server's order, as slices of the message buffer
// (or of a go-ldap entry). It is reused from entry to entry; whoever keeps
// a value copies it.
type rawEntry struct {
	dn    []byte
	attrs []rawAttr
	pool  [][]byte // every value of the entry; each attribute owns a range
}

type rawAttr struct {
	name       []byte
	first, end int // its values are pool[first:end]
}

// values returns the values of attribute i.
func (e *rawEntry) values(i int) [][]byte {
	a := e.attrs[i]
	return e.pool[a.first:a.end]
}

func (e *rawEntry) reset(dn []byte) {
	e.dn, e.attrs, e.pool = dn, e.attrs[:0], e.pool[:0]
}

// decodeEntry walks a SearchResultEntry (RFC 4511 4.5.2) into e:
// objectName, then a SEQUENCE OF PartialAttribute { type, SET OF value }.
func decodeEntry(op []byte, e *rawEntry) error {
	c := cursor{rest: op, depth: 2}
	dn, err := c.expect(tagOctetString, "entry DN")
	if err != nil {
		return err
	}
	list, err := c.expect(tagSequence, "entry attributes")
	if err != nil {
		return err
	}
	e.reset(dn)
	lc, err := c.enter(list, "entry attributes")
	if err != nil {
		return err
	}
	for lc.more() {
		attr, err := lc.expect(tagSequence, "attribute")
		if err != nil {
			return err
		}
		if err := e.decodeAttribute(&lc, attr); err != nil {
			return err
		}
	}
	return nil
}

func (e *rawEntry) decodeAttribute(parent *cursor, attr []byte) error {
	ac, err := parent.enter(attr, "attribute")
	if err != nil {
		return err
	}
	name, err := ac.expect(tagOctetString, "attribute type")
	if err != nil {
		return err
	}
	set, err := ac.expect(tagSet, "attribute values")
	if err != nil {
		return ofAttribute(err, name)
	}
	vc, err := ac.enter(set, "attribute values")
	if err != nil {
		return ofAttribute(err, name)
	}
	first := len(e.pool)
	for vc.more() {
		v, err := vc.expect(tagOctetString, "attribute value")
		if err != nil {
			return ofAttribute(err, name)
		}
		e.pool = append(e.pool, v)
	}
	e.attrs = append(e.attrs, rawAttr{name: name, first: first, end: len(e.pool)})
	return nil
}

// ofAttribute names the attribute in a malformed value's error; built
// only on failure, so that the walk allocates nothing.
func ofAttribute(err error, name []byte) error {
	var me *malformedError
	if errors.As(err, &me) {
		me.what += fmt.Sprintf(" of %q", name)
	}
	return err
}

// result is an LDAPResult (RFC 4511 4.1.9): SearchResultDone, BindResponse
// and ExtendedResponse begin with one.
type result struct {
	code       uint16
	matchedDN  []byte
	diagnostic []byte
	rest       cursor // the elements after the referral, if any
}

func decodeResult(op []byte, what string) (result, error) {
	c := cursor{rest: op, depth: 2}
	tag, codeBytes, err := c.next(what + " result code")
	if err != nil {
		return result{}, err
	}
	if tag != tagEnumerated && tag != tagInteger {
		return result{}, malformed(what+" result code", "tag 0x%02x where an ENUMERATED belongs", tag)
	}
	code, err := parseInt(codeBytes, math.MaxUint16, what+" result code")
	if err != nil {
		return result{}, err
	}
	matched, err := c.expect(tagOctetString, what+" matched DN")
	if err != nil {
		return result{}, err
	}
	diag, err := c.expect(tagOctetString, what+" diagnostic message")
	if err != nil {
		return result{}, err
	}
	if len(c.rest) > 0 && c.rest[0] == tagReferral {
		if _, _, err := c.next(what + " referral"); err != nil {
			return result{}, err
		}
	}
	return result{code: uint16(code), matchedDN: matched, diagnostic: diag, rest: c}, nil
}

// err is the result as go-ldap's GetLDAPError makes it, so that Describe
// and the callers' checks of result codes read it the same: nil on success.
func (r result) err() error {
	if r.code == ldap.LDAPResultSuccess {
		return nil
	}
	return &ldap.Error{ResultCode: r.code, MatchedDN: string(r.matchedDN), Err: errors.New(string(r.diagnostic))}
}

// pagingCookie finds the RFC 2696 paged results control among a
// message's controls and returns its cookie (a slice of the buffer), or
// nil when there is no such control or its cookie is empty.
func pagingCookie(controls []byte) ([]byte, error) {
	c := cursor{rest: controls, depth: 2}
	for c.more() {
		ctl, err := c.expect(tagSequence, "control")
		if err != nil {
			return nil, err
		}
		cc, err := c.enter(ctl, "control")
		if err != nil {
			return nil, err
		}
		oid, err := cc.expect(tagOctetString, "control type")
		if err != nil {
			return nil, err
		}
		if string(oid) != ldap.ControlTypePaging {
			continue
		}
		return decodePagingValue(&cc)
	}
	return nil, nil
}

// decodePagingValue reads what follows the paging control's type: an
// optional criticality, then the value, an OCTET STRING holding
// SEQUENCE { size INTEGER, cookie OCTET STRING }.
func decodePagingValue(cc *cursor) ([]byte, error) {
	const what = "paged results control"
	if len(cc.rest) > 0 && cc.rest[0] == tagBoolean {
		if _, _, err := cc.next(what + " criticality"); err != nil {
			return nil, err
		}
	}
	value, err := cc.expect(tagOctetString, what+" value")
	if err != nil {
		return nil, err
	}
	vc := cursor{rest: value, depth: cc.depth + 1}
	seq, err := vc.expect(tagSequence, what+" value")
	if err != nil {
		return nil, err
	}
	sc, err := vc.enter(seq, what+" value")
	if err != nil {
		return nil, err
	}
	size, err := sc.expect(tagInteger, what+" size")
	if err != nil {
		return nil, err
	}
	if _, err := parseInt(size, math.MaxInt32, what+" size"); err != nil {
		return nil, err
	}
	cookie, err := sc.expect(tagOctetString, what+" cookie")
	if err != nil {
		return nil, err
	}
	if len(cookie) == 0 {
		return nil, nil
	}
	return cookie, nil
}

// firstReference reads a SearchResultReference (RFC 4511 4.5.3), a
// SEQUENCE OF URI, at least one, and returns the first URI, as go-ldap
// keeps it.
func firstReference(op []byte) ([]byte, error) {
	c := cursor{rest: op, depth: 2}
	if !c.more() {
		return nil, malformed("search result reference", "it holds no URI")
	}
	return c.expect(tagOctetString, "search result reference URI")
}

// Notice of Disconnection (RFC 4511 4.4.1): the server is about to close.
const oidNoticeOfDisconnection = "1.3.6.1.4.1.1466.20036"

// unexpected turns a response that a search or bind cannot take into the
// error that ends it.
func unexpected(msg message, want int64) error {
	switch {
	case msg.id == 0 && msg.opTag == tagExtendedResp:
		return unsolicited(msg.op)
	case msg.id != want:
		return malformed("message ID", "a response to message %d while message %d waits for its answer", msg.id, want)
	case msg.opTag == tagIntermediate:
		return errors.New("the server sent an intermediate response (RFC 4511 4.13), which a search does not expect")
	}
	return fmt.Errorf("the server sent an unexpected response (protocol operation tag 0x%02x)", msg.opTag)
}

// unsolicited describes an unsolicited notification, which ends the search:
// the server says why it drops the connection.
func unsolicited(op []byte) error {
	r, err := decodeResult(op, "unsolicited notification")
	if err != nil {
		return err
	}
	name := ""
	if len(r.rest.rest) > 0 && r.rest.rest[0] == tagResponseName {
		n, err := r.rest.expect(tagResponseName, "unsolicited notification name")
		if err != nil {
			return err
		}
		name = string(n)
	}
	cause := r.err()
	if cause == nil {
		cause = &ldap.Error{ResultCode: r.code, Err: errors.New(string(r.diagnostic))}
	}
	if name == oidNoticeOfDisconnection {
		return &explained{"the server ended the session (Notice of Disconnection)", cause}
	}
	return &explained{fmt.Sprintf("the server sent an unsolicited notification %q and the search cannot go on", name), cause}
}
