package directory

import (
	"errors"
	"fmt"
)

// What the streaming reader accepts from a server. A person's entry with
// the attributes a job requests is a few hundred bytes; the limit leaves
// room for large values (a photo mapped by mistake) while keeping a hostile
// or broken server from making the reader hold more than this at once.
const (
	maxMessageBytes = 32 << 20
	// maxDepth bounds how deeply elements nest. The reader walks a fixed
	// schema, so nothing legitimate goes deeper than six levels (message,
	// entry, attribute list, attribute, value set, value); the bound holds
	// whatever a later change to the walk does.
	maxDepth = 8
)

// BER identifier octets of the elements the reader walks (RFC 4511 section
// 4, X.690). All LDAP tags are below 31, so each fits in one octet.
const (
	tagBoolean     = 0x01
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagEnumerated  = 0x0a
	tagSequence    = 0x30
	tagSet         = 0x31

	tagBindResponse    = 0x61 // [APPLICATION 1] constructed
	tagSearchEntry     = 0x64 // [APPLICATION 4]
	tagSearchDone      = 0x65 // [APPLICATION 5]
	tagSearchReference = 0x73 // [APPLICATION 19]
	tagExtendedResp    = 0x78 // [APPLICATION 24]
	tagIntermediate    = 0x79 // [APPLICATION 25]
	tagControls        = 0xa0 // [0] constructed, in LDAPMessage
	tagReferral        = 0xa3 // [3] constructed, in LDAPResult
	tagResponseName    = 0x8a // [10] primitive, in ExtendedResponse
)

// malformedError is a response that does not follow RFC 4511's encoding.
// The connection cannot be used after one: where the next message starts
// is unknown.
type malformedError struct{ what, why string }

func (e *malformedError) Error() string {
	return "the server sent a malformed LDAP message: " + e.what + ": " + e.why
}

func malformed(what, format string, args ...any) error {
	return &malformedError{what: what, why: fmt.Sprintf(format, args...)}
}

// errIndefinite is refused everywhere: RFC 4511 section 5.1 allows only
// the definite form of the length octets.
var errIndefinite = errors.New("indefinite length, which LDAP does not allow")

// cursor walks the elements inside one element's content, in place: each
// element it returns is a slice of the same buffer, never a copy.
type cursor struct {
	rest  []byte
	depth int
}

// more reports whether elements remain.
func (c *cursor) more() bool { return len(c.rest) > 0 }

// next returns the next element's identifier octet and content.
func (c *cursor) next(what string) (byte, []byte, error) {
	b := c.rest
	if len(b) < 2 {
		return 0, nil, malformed(what, "%d bytes left where an element needs at least 2", len(b))
	}
	tag := b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, malformed(what, "tag number of more than one octet (0x%02x), which LDAP never uses", tag)
	}
	n, size, err := parseLength(b[1:])
	if err != nil {
		return 0, nil, malformed(what, "%v", err)
	}
	start := 1 + size
	if n > len(b)-start {
		return 0, nil, malformed(what, "length %d runs past the end of its enclosing element (%d bytes left)", n, len(b)-start)
	}
	c.rest = b[start+n:]
	return tag, b[start : start+n], nil
}

// expect returns the content of the next element, which must carry tag.
func (c *cursor) expect(tag byte, what string) ([]byte, error) {
	got, content, err := c.next(what)
	if err != nil {
		return nil, err
	}
	if got != tag {
		return nil, malformed(what, "tag 0x%02x where 0x%02x belongs", got, tag)
	}
	return content, nil
}

// enter returns a cursor over the content of a constructed element that c
// returned, one level deeper.
func (c *cursor) enter(content []byte, what string) (cursor, error) {
	if c.depth+1 > maxDepth {
		return cursor{}, malformed(what, "nested more than %d levels deep", maxDepth)
	}
	return cursor{rest: content, depth: c.depth + 1}, nil
}

// parseLength reads definite length octets (X.690 8.1.3) at the start of b:
// the length and how many octets encode it. Lengths beyond four octets are
// refused; the callers check the length against what was read.
func parseLength(b []byte) (n, size int, err error) {
	if len(b) == 0 {
		return 0, 0, errors.New("the length octets are missing")
	}
	first := b[0]
	switch {
	case first < 0x80:
		return int(first), 1, nil
	case first == 0x80:
		return 0, 0, errIndefinite
	case first > 0x84:
		return 0, 0, fmt.Errorf("a length of %d octets, more than the 4 this reader accepts", first&0x7f)
	}
	k := int(first & 0x7f)
	if len(b) < 1+k {
		return 0, 0, fmt.Errorf("%d length octets announced, %d present", k, len(b)-1)
	}
	for _, o := range b[1 : 1+k] {
		n = n<<8 | int(o)
	}
	return n, 1 + k, nil
}

// parseInt reads the content of an INTEGER or ENUMERATED that must lie in
// 0..limit (message IDs, result codes, page sizes).
func parseInt(content []byte, limit int64, what string) (int64, error) {
	if len(content) == 0 || len(content) > 8 {
		return 0, malformed(what, "an integer of %d bytes", len(content))
	}
	if content[0]&0x80 != 0 {
		return 0, malformed(what, "a negative integer")
	}
	var v int64
	for _, o := range content {
		v = v<<8 | int64(o)
	}
	if v > limit {
		return 0, malformed(what, "%d is out of range (0 to %d)", v, limit)
	}
	return v, nil
}
