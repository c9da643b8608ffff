package directory

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// captureCorpus makes the differential tests write what the servers sent
// into the fuzz seed corpus: go test ./internal/directory -run Differential -capture
var captureCorpus = flag.Bool("capture", false, "write the servers' answers in the differential tests to testdata/fuzz/FuzzDecodeMessage")

const corpusDir = "testdata/fuzz/FuzzDecodeMessage"

// decoded is what the streaming reader made of one message.
type decoded struct {
	raw    []byte // the whole message, header included
	msg    message
	entry  *entryCopy
	result *result
	cookie []byte
	err    error
}

// decodeAll reads up to limit messages from data with the streaming
// reader and decodes each as a search would.
func decodeAll(data []byte, limit int) []decoded {
	mr := newMessageReader(bytes.NewReader(data))
	var out []decoded
	var e rawEntry
	for range limit {
		content, err := mr.next()
		if err != nil {
			return out
		}
		d := decoded{raw: append(lengthHeader(len(content)), content...)}
		if d.msg, d.err = parseMessage(content); d.err == nil {
			d.decodeOp(&e)
		}
		out = append(out, d)
	}
	return out
}

func (d *decoded) decodeOp(e *rawEntry) {
	switch d.msg.opTag {
	case tagSearchEntry:
		if d.err = decodeEntry(d.msg.op, e); d.err == nil {
			c := copyEntry(e)
			d.entry = &c
		}
	case tagSearchReference:
		_, d.err = firstReference(d.msg.op)
	case tagSearchDone, tagBindResponse:
		// The reader's buffer is reused: keep copies.
		r, err := decodeResult(d.msg.op, "result")
		if d.err = err; err == nil {
			r.matchedDN, r.diagnostic = bytes.Clone(r.matchedDN), bytes.Clone(r.diagnostic)
			d.result = &r
			d.cookie, d.err = pagingCookie(d.msg.controls)
			d.cookie = bytes.Clone(d.cookie)
		}
	default:
		d.err = unexpected(d.msg, d.msg.id)
	}
}

// lengthHeader is a SEQUENCE header for n bytes of content, minimal form.
func lengthHeader(n int) []byte {
	h := tlv(tagSequence, make([]byte, n))
	return h[:len(h)-n]
}

// FuzzDecodeMessage feeds the streaming reader arbitrary bytes. It must
// never panic, must allocate in proportion to the bytes it was given (never
// to a length a message claims), and whatever it decodes must agree with
// go-asn1-ber's reading of the same message.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(msg(2, entryOp("uid=a,dc=x", attr("mail", "a@x", "b@x", ""), attr("empty"))))
	f.Add(msg(2, doneOp(0, ""), pagingControl("cookie")))
	f.Add(msg(0, tlv(tagExtendedResp, tlv(tagEnumerated, []byte{52}), str(""), str("bye"), tlv(tagResponseName, []byte(oidNoticeOfDisconnection)))))
	f.Add([]byte{tagSequence, 0x84, 0x01, 0xe0, 0x00, 0x00, 0x02, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got := decodeAll(data, 64)
		runtime.ReadMemStats(&after)
		// Slices of every value (24 bytes for each 2-byte element) and
		// append's doubling, the buffered reader and one read chunk.
		if grew, bound := after.TotalAlloc-before.TotalAlloc, uint64(48*len(data)+4*readChunk+64<<10); grew > bound {
			t.Fatalf("decoding %d bytes allocated %d bytes (bound %d)", len(data), grew, bound)
		}
		for i, d := range got {
			if d.err == nil {
				agreeWithBER(t, i, d)
			}
		}
	})
}

// agreeWithBER decodes the message with go-asn1-ber and, when it can,
// requires the same message ID, operation, entry, result and cookie.
func agreeWithBER(t *testing.T, i int, d decoded) {
	p, err := ber.DecodePacketErr(d.raw)
	if err != nil || len(p.Children) < 2 {
		return // go-asn1-ber refuses what the walk did not need to read
	}
	if id, ok := p.Children[0].Value.(int64); !ok || id != d.msg.id {
		t.Fatalf("message %d: ID %d, go-asn1-ber %v", i, d.msg.id, p.Children[0].Value)
	}
	op := p.Children[1]
	if op.ClassType != ber.ClassApplication || op.TagType != ber.TypeConstructed || byte(op.Tag)|0x60 != d.msg.opTag {
		t.Fatalf("message %d: operation 0x%02x, go-asn1-ber %v/%v/%d", i, d.msg.opTag, op.ClassType, op.TagType, op.Tag)
	}
	switch {
	case d.entry != nil:
		if want := berEntry(op); want.DN != d.entry.DN || !equalEntries([]entryCopy{*d.entry}, []entryCopy{want}) {
			t.Fatalf("message %d: entry %q, go-asn1-ber %q", i, fmt.Sprint(*d.entry), fmt.Sprint(want))
		}
	case d.result != nil:
		code, _ := op.Children[0].Value.(int64)
		if code != int64(d.result.code) || string(op.Children[2].ByteValue) != string(d.result.diagnostic) {
			t.Fatalf("message %d: result %d %q, go-asn1-ber %d %q", i, d.result.code, d.result.diagnostic, code, op.Children[2].ByteValue)
		}
		if cookie, ok := berCookie(p); ok && !bytes.Equal(cookie, d.cookie) {
			t.Fatalf("message %d: cookie %q, go-ldap %q", i, d.cookie, cookie)
		}
	}
}

func berEntry(op *ber.Packet) entryCopy {
	e := entryCopy{DN: string(op.Children[0].ByteValue)}
	for _, a := range op.Children[1].Children {
		ac := attrCopy{Name: string(a.Children[0].ByteValue), Values: []string{}}
		for _, v := range a.Children[1].Children {
			ac.Values = append(ac.Values, string(v.ByteValue))
		}
		e.Attrs = append(e.Attrs, ac)
	}
	return e
}

// berCookie is the paging cookie as go-ldap decodes it, when it can.
func berCookie(p *ber.Packet) ([]byte, bool) {
	if len(p.Children) < 3 || p.Children[2].ClassType != ber.ClassContext || p.Children[2].Tag != 0 {
		return nil, false
	}
	for _, child := range p.Children[2].Children {
		c, err := ldap.DecodeControl(child)
		if err != nil {
			return nil, false
		}
		if pc, ok := c.(*ldap.ControlPaging); ok {
			if len(pc.Cookie) == 0 {
				return nil, true
			}
			return pc.Cookie, true
		}
	}
	return nil, true
}

// TestSeedCorpusDecodes: every answer captured from a real server decodes
// without error, as its search did.
func TestSeedCorpusDecodes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus in %s: %v", corpusDir, err)
	}
	captured := 0
	for _, f := range files {
		data := readSeed(t, f)
		name := filepath.Base(f)
		if !strings.HasPrefix(name, "slapd-") && !strings.HasPrefix(name, "samba-") {
			continue
		}
		captured++
		got := decodeAll(data, 1<<20)
		if len(got) == 0 {
			t.Errorf("%s: no message", name)
		}
		for i, d := range got {
			if d.err != nil {
				t.Errorf("%s: message %d: %v", name, i, d.err)
			}
		}
	}
	if captured == 0 {
		t.Fatalf("no captured answers among %d seeds", len(files))
	}
}

// readSeed reads a corpus file ("go test fuzz v1" and one []byte literal).
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lit, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "go test fuzz v1\n[]byte(")
	if !ok || !strings.HasSuffix(lit, ")") {
		t.Fatalf("%s is not a corpus file of one []byte", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}

// writeSeeds splits a recorded answer into messages and writes, as seeds,
// the first message of each kind and the opening few kilobytes as one
// stream. Messages over 64 KiB stay out of the corpus.
func writeSeeds(t *testing.T, source, search string, stream []byte) {
	t.Helper()
	if err := os.MkdirAll(corpusDir, 0o755); err != nil {
		t.Fatal(err)
	}
	seen := map[byte]bool{}
	var opening []byte
	for _, d := range decodeAll(stream, 1<<20) {
		if len(opening)+len(d.raw) <= 4<<10 {
			opening = append(opening, d.raw...)
		}
		if d.err != nil || seen[d.msg.opTag] || len(d.raw) > 64<<10 {
			continue
		}
		seen[d.msg.opTag] = true
		writeSeed(t, fmt.Sprintf("%s-%s-%02x", source, search, d.msg.opTag), d.raw)
	}
	writeSeed(t, fmt.Sprintf("%s-%s-stream", source, search), opening)
}

// writeSeed writes data unless a seed with the same bytes exists.
func writeSeed(t *testing.T, name string, data []byte) {
	t.Helper()
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:4])
	if same, _ := filepath.Glob(filepath.Join(corpusDir, "*-"+hash)); len(same) > 0 {
		return
	}
	path := filepath.Join(corpusDir, name+"-"+hash)
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
