package directory

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// tlv encodes one BER element with a minimal definite length.
func tlv(tag byte, content ...[]byte) []byte {
	body := bytes.Join(content, nil)
	n := len(body)
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xff:
		out = append(out, 0x81, byte(n))
	case n <= 0xffff:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, body...)
}

func str(s string) []byte { return tlv(tagOctetString, []byte(s)) }

// msg wraps an operation into an LDAPMessage with message ID id.
func msg(id byte, op []byte, controls ...[]byte) []byte {
	return tlv(tagSequence, append([][]byte{tlv(tagInteger, []byte{id}), op}, controls...)...)
}

func entryOp(dn string, attrs ...[]byte) []byte {
	return tlv(tagSearchEntry, str(dn), tlv(tagSequence, attrs...))
}

func attr(name string, values ...string) []byte {
	var vs [][]byte
	for _, v := range values {
		vs = append(vs, str(v))
	}
	return tlv(tagSequence, str(name), tlv(tagSet, vs...))
}

func doneOp(code byte, diag string) []byte {
	return tlv(tagSearchDone, tlv(tagEnumerated, []byte{code}), str(""), str(diag))
}

func pagingControl(cookie string) []byte {
	value := tlv(tagSequence, tlv(tagInteger, []byte{0}), str(cookie))
	return tlv(tagControls, tlv(tagSequence, str(ldap.ControlTypePaging), tlv(tagOctetString, value)))
}

// readAll decodes a recorded stream as the stream link does: every message
// for id 2, until the SearchResultDone.
func readAll(stream []byte) (entries []entryCopy, refs int, cookie []byte, err error) {
	mr := newMessageReader(bytes.NewReader(stream))
	var e rawEntry
	for {
		content, err := mr.next()
		if err != nil {
			return entries, refs, nil, err
		}
		m, err := parseMessage(content)
		if err != nil {
			return entries, refs, nil, err
		}
		if m.id != 2 {
			return entries, refs, nil, unexpected(m, 2)
		}
		switch m.opTag {
		case tagSearchEntry:
			if err := decodeEntry(m.op, &e); err != nil {
				return entries, refs, nil, err
			}
			entries = append(entries, copyEntry(&e))
		case tagSearchReference:
			if _, err := firstReference(m.op); err != nil {
				return entries, refs, nil, err
			}
			refs++
		case tagSearchDone:
			r, err := decodeResult(m.op, "search result done")
			if err != nil {
				return entries, refs, nil, err
			}
			if err := r.err(); err != nil {
				return entries, refs, nil, err
			}
			cookie, err := pagingCookie(m.controls)
			return entries, refs, cookie, err
		default:
			return entries, refs, nil, unexpected(m, 2)
		}
	}
}

func TestDecodeStream(t *testing.T) {
	good := bytes.Join([][]byte{
		msg(2, entryOp("uid=a,dc=x", attr("mail", "a@x", "b@x", ""), attr("jpegPhoto", "\x00\xff"), attr("empty"))),
		msg(2, tlv(tagSearchReference, str("ldap://other/dc=y"))),
		msg(2, doneOp(0, ""), pagingControl("next")),
	}, nil)
	entries, refs, cookie, err := readAll(good)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := []entryCopy{{DN: "uid=a,dc=x", Attrs: []attrCopy{
		{Name: "mail", Values: []string{"a@x", "b@x", ""}},
		{Name: "jpegPhoto", Values: []string{"\x00\xff"}},
		{Name: "empty", Values: []string{}},
	}}}
	if !equalEntries(entries, want) || refs != 1 || string(cookie) != "next" {
		t.Fatalf("got %+v, %d references, cookie %q", entries, refs, cookie)
	}

	longLength := append([]byte{tagSequence, 0x84, 0x02, 0x10, 0x00, 0x00}, make([]byte, 10)...)
	tests := []struct {
		name   string
		stream []byte
		want   string
	}{
		{"ErrNotASequence", []byte{0x31, 0x00}, "it starts with 0x31, not a SEQUENCE"},
		{"ErrIndefiniteLength", []byte{0x30, 0x80, 0x02, 0x01, 0x02, 0x00, 0x00}, "indefinite length"},
		{"ErrFiveLengthOctets", []byte{0x30, 0x85, 1, 0, 0, 0, 0}, "a length of 5 octets"},
		{"ErrOverTheLimit", longLength, "over the limit of"},
		{"ErrTruncatedMessage", msg(2, doneOp(0, ""))[:8], "unexpected EOF"},
		{"ErrNoMessage", nil, "EOF"},
		{"ErrElementPastItsParent", msg(2, []byte{tagSearchEntry, 0x10, 0x04, 0x01, 'x'}), "runs past the end of its enclosing element"},
		{"ErrHighTagNumber", msg(2, []byte{0x7f, 0x81, 0x00}), "tag number of more than one octet"},
		{"ErrNegativeMessageID", tlv(tagSequence, tlv(tagInteger, []byte{0xff}), doneOp(0, "")), "message ID: a negative integer"},
		{"ErrMessageIDTooLong", tlv(tagSequence, tlv(tagInteger, make([]byte, 9)), doneOp(0, "")), "an integer of 9 bytes"},
		{"ErrNoOperation", tlv(tagSequence, tlv(tagInteger, []byte{2})), "protocol operation: 0 bytes left"},
		{"ErrValueNotAString", msg(2, entryOp("uid=a", tlv(tagSequence, str("mail"), tlv(tagSet, tlv(tagInteger, []byte{1}))))), `attribute value of "mail": tag 0x02 where 0x04 belongs`},
		{"ErrValuesNotASet", msg(2, entryOp("uid=a", tlv(tagSequence, str("mail"), tlv(tagSequence)))), `attribute values of "mail": tag 0x30 where 0x31 belongs`},
		{"ErrEntryWithoutAttributes", msg(2, tlv(tagSearchEntry, str("uid=a"))), "entry attributes: 0 bytes left"},
		{"ErrDNNotAString", msg(2, tlv(tagSearchEntry, tlv(tagSequence), tlv(tagSequence))), "entry DN: tag 0x30 where 0x04 belongs"},
		{"ErrReferenceWithoutURI", msg(2, tlv(tagSearchReference)), "it holds no URI"},
		{"ErrResultCodeNotEnumerated", msg(2, tlv(tagSearchDone, str("0"), str(""), str(""))), "tag 0x04 where an ENUMERATED belongs"},
		{"ErrPagingCookieMissing", msg(2, doneOp(0, ""), tlv(tagControls, tlv(tagSequence, str(ldap.ControlTypePaging), tlv(tagOctetString, tlv(tagSequence, tlv(tagInteger, []byte{0})))))), "paged results control cookie: 0 bytes left"},
		{"ErrOtherMessageID", msg(7, doneOp(0, "")), "a response to message 7 while message 2 waits"},
		{"ErrIntermediateResponse", msg(2, tlv(tagIntermediate)), "intermediate response"},
		{"ErrNoticeOfDisconnection", msg(0, tlv(tagExtendedResp, tlv(tagEnumerated, []byte{52}), str(""), str("server shutting down"), tlv(tagResponseName, []byte(oidNoticeOfDisconnection)))),
			"the server ended the session (Notice of Disconnection): LDAP Result Code 52"},
		{"ErrUnknownOperation", msg(2, tlv(0x6b)), "unexpected response (protocol operation tag 0x6b)"},
		{"ErrSizeLimit", msg(2, doneOp(4, "")), `LDAP Result Code 4 "Size Limit Exceeded"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := readAll(tt.stream)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func equalEntries(a, b []entryCopy) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].DN != b[i].DN || len(a[i].Attrs) != len(b[i].Attrs) {
			return false
		}
		for j := range a[i].Attrs {
			x, y := a[i].Attrs[j], b[i].Attrs[j]
			if x.Name != y.Name || strings.Join(x.Values, "\x00|") != strings.Join(y.Values, "\x00|") || len(x.Values) != len(y.Values) {
				return false
			}
		}
	}
	return true
}

func TestCursorDepthBounded(t *testing.T) {
	c := cursor{depth: maxDepth}
	if _, err := c.enter(nil, "deep"); err == nil || !strings.Contains(err.Error(), "nested more than 8 levels") {
		t.Fatalf("enter at the maximum depth: %v", err)
	}
	c.depth = maxDepth - 1
	if _, err := c.enter(nil, "deep"); err != nil {
		t.Fatalf("enter below the maximum depth: %v", err)
	}
}

// TestClaimedLengthCostsNothingUntilSent: a message that claims 30 MiB and
// sends 100 bytes allocates about one chunk, not 30 MiB.
func TestClaimedLengthCostsNothingUntilSent(t *testing.T) {
	stream := append([]byte{tagSequence, 0x84, 0x01, 0xe0, 0x00, 0x00}, make([]byte, 100)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	mr := newMessageReader(bytes.NewReader(stream))
	_, err := mr.next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("next = %v, want an unexpected EOF", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4*readChunk {
		t.Fatalf("reading 100 bytes of a message claiming 30 MiB allocated %d bytes", grew)
	}
}

// TestLargeMessageBufferReleased: the buffer a large message needed is not
// kept for the rest of the connection.
func TestLargeMessageBufferReleased(t *testing.T) {
	big := msg(2, entryOp("uid=big", attr("jpegPhoto", strings.Repeat("x", 1<<20))))
	mr := newMessageReader(bytes.NewReader(append(big, msg(2, doneOp(0, ""))...)))
	if _, err := mr.next(); err != nil {
		t.Fatal(err)
	}
	if cap(mr.buf) < 1<<20 {
		t.Fatalf("buffer of %d bytes holds a 1 MiB message", cap(mr.buf))
	}
	if _, err := mr.next(); err != nil {
		t.Fatal(err)
	}
	if cap(mr.buf) > keepBytes {
		t.Fatalf("after a small message the buffer still holds %d bytes", cap(mr.buf))
	}
}

// rawServer answers a bind with success, then every search with the bytes
// answer gives for its message ID, and keeps the connection open.
func rawServer(t *testing.T, answer func(id byte) []byte) string {
	t.Helper()
	return fakeLDAP(t, func(c net.Conn, id int64, _ int) { _, _ = c.Write(answer(byte(id))) })
}

// TestSearchEndsOnUnexpectedResponses: what a search cannot take ends it
// with a message that says what came, and the connection is not reused.
func TestSearchEndsOnUnexpectedResponses(t *testing.T) {
	tests := []struct {
		name   string
		answer []byte
		want   string
	}{
		{"ErrNoticeOfDisconnection", msg(0, tlv(tagExtendedResp, tlv(tagEnumerated, []byte{52}), str(""), str("server shutting down"), tlv(tagResponseName, []byte(oidNoticeOfDisconnection)))),
			"failed on page 1: the server ended the session (Notice of Disconnection): unavailable (52): server shutting down"},
		{"ErrIntermediateResponse", msg(3, tlv(tagIntermediate)), "failed on page 1: the server sent an intermediate response"},
		{"ErrMalformedEntry", msg(3, tlv(tagSearchEntry, str("uid=a"), []byte{tagSequence, 0x05, 0x30})), "failed on page 1: the server sent a malformed LDAP message: entry attributes: length 5 runs past the end"},
		{"ErrMessageTooLarge", []byte{tagSequence, 0x84, 0x7f, 0xff, 0xff, 0xff}, "over the limit of 33554432"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := settingsFor("ldap://" + rawServer(t, func(byte) []byte { return tt.answer }))
			c := mustDial(t, set, secretPassword)
			err := c.Search(context.Background(), "(uid=*)", set.AttributeMap, func([]Entry) error {
				t.Fatal("fn called")
				return nil
			})
			requireStep(t, err, StepSearch, tt.want)
			_, err = c.Count(context.Background(), "(uid=*)")
			requireStep(t, err, StepSearch, "failed on page 1: connection closed")
		})
	}
}

// TestStalledPage: a server that sends part of a page and then nothing.
// Through either reader, a cancelled context ends the search at once and a
// timeout at the search timeout, with the same message.
func TestStalledPage(t *testing.T) {
	partial := func(id byte) []byte {
		return bytes.Join([][]byte{
			msg(id, entryOp("uid=a,dc=example,dc=com", attr("uid", "a"))),
			msg(id, entryOp("uid=b,dc=example,dc=com", attr("uid", "b"))),
		}, nil)
	}
	for _, r := range readers {
		t.Run("ErrCancelled/"+r.name, func(t *testing.T) {
			set := settingsFor("ldap://" + rawServer(t, partial))
			set.SearchTimeoutSeconds = 5
			c := dialReader(t, set, secretPassword, r)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := c.Search(ctx, "(uid=*)", set.AttributeMap, func([]Entry) error { t.Fatal("fn called"); return nil })
			requireStep(t, err, StepSearch, "failed on page 1: timed out")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v is not the context's", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("Search took %s after its context ended", took)
			}
		})
		t.Run("ErrTimeout/"+r.name, func(t *testing.T) {
			set := settingsFor("ldap://" + rawServer(t, partial))
			set.SearchTimeoutSeconds = 1
			c := dialReader(t, set, secretPassword, r)
			start := time.Now()
			err := c.Search(context.Background(), "(uid=*)", set.AttributeMap, func([]Entry) error { t.Fatal("fn called"); return nil })
			requireStep(t, err, StepSearch, "failed on page 1: no answer within the search timeout")
			if took := time.Since(start); took > 3*time.Second {
				t.Fatalf("Search took %s with a 1s timeout", took)
			}
		})
	}
}
