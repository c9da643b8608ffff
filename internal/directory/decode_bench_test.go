package directory

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/testenv"
)

// recordedSearch is a paged search's answer as slapd sent it: per page,
// each message without its envelope (the operation and controls), so that
// it can be sent again under any message ID.
type recordedSearch struct {
	pages   [][][]byte
	entries int
}

// recordSearch reads every entry of a generated directory of n people
// once, through the streaming reader, and keeps what slapd sent.
func recordSearch(b *testing.B, n int) (recordedSearch, domain.LDAPSettings) {
	b.Helper()
	srv := testenv.StartSlapd(b, testenv.PeopleLDIF(n, 10))
	set := slapdSettings(srv, srv.URL)
	var rec *recordingConn
	c, err := dial(context.Background(), set, srv.AdminPassword, nil,
		wrapConn(func(nc net.Conn) net.Conn { rec = &recordingConn{Conn: nc}; return rec }))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Search(context.Background(), "(objectClass=inetOrgPerson)", set.AttributeMap, func([]Entry) error { return nil }); err != nil {
		b.Fatal(err)
	}
	var out recordedSearch
	var page [][]byte
	mr := newMessageReader(bytes.NewReader(rec.received()))
	for {
		content, err := mr.next()
		if err != nil {
			break
		}
		msg, err := parseMessage(content)
		if err != nil {
			b.Fatal(err)
		}
		if msg.opTag == tagBindResponse {
			continue
		}
		c := cursor{rest: content}
		_, _, _ = c.next("message ID")
		page = append(page, bytes.Clone(c.rest))
		switch msg.opTag {
		case tagSearchEntry:
			out.entries++
		case tagSearchDone:
			out.pages, page = append(out.pages, page), nil
		}
	}
	return out, set
}

// replayConn is an in-memory server that answers each search request with
// the next recorded page, under the request's message ID: both readers
// decode exactly the same bytes, and nothing else runs.
type replayConn struct {
	rec  recordedSearch
	next int // the page the next search request gets
	mu   sync.Mutex
	cond *sync.Cond
	out  bytes.Buffer
	done bool
}

func newReplay(rec recordedSearch) *replayConn {
	r := &replayConn{rec: rec}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *replayConn) Write(p []byte) (int, error) {
	content, err := newMessageReader(bytes.NewReader(p)).next()
	if err != nil {
		return 0, err
	}
	msg, err := parseMessage(content)
	if err != nil {
		return 0, err
	}
	if msg.opTag != 0x63 { // only search requests get an answer
		return len(p), nil
	}
	var idBuf [8]byte
	id := append(append(idBuf[:0], tagInteger, 0), intBytes(msg.id)...)
	id[1] = byte(len(id) - 2)
	r.mu.Lock()
	for _, body := range r.rec.pages[r.next] {
		writeHeader(&r.out, len(id)+len(body))
		r.out.Write(id)
		r.out.Write(body)
	}
	r.next = (r.next + 1) % len(r.rec.pages)
	r.mu.Unlock()
	r.cond.Broadcast()
	return len(p), nil
}

// intBytes is the minimal two's-complement content of a positive INTEGER.
func intBytes(v int64) []byte {
	var b [9]byte
	i := len(b)
	for {
		i--
		b[i] = byte(v)
		v >>= 8
		if v == 0 && b[i] < 0x80 {
			return b[i:]
		}
	}
}

// writeHeader writes a SEQUENCE header for n bytes of content.
func writeHeader(w *bytes.Buffer, n int) {
	w.WriteByte(tagSequence)
	switch {
	case n < 0x80:
		w.WriteByte(byte(n))
	case n <= 0xff:
		w.Write([]byte{0x81, byte(n)})
	case n <= 0xffff:
		w.Write([]byte{0x82, byte(n >> 8), byte(n)})
	default:
		w.Write([]byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)})
	}
}

func (r *replayConn) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.out.Len() == 0 && !r.done {
		r.cond.Wait()
	}
	if r.done {
		return 0, io.EOF
	}
	return r.out.Read(p)
}

func (r *replayConn) Close() error {
	r.mu.Lock()
	r.done = true
	r.mu.Unlock()
	r.cond.Broadcast()
	return nil
}

func (r *replayConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (r *replayConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (r *replayConn) SetDeadline(time.Time) error      { return nil }
func (r *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (r *replayConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkDecode reads 2,000 recorded entries (11 attributes, pages of
// 500) through each reader from memory: the cost of decoding and mapping
// alone, per entry, in wall time, process CPU (the GC included) and
// allocations.
func BenchmarkDecode(b *testing.B) {
	rec, set := recordSearch(b, 2000)
	for _, r := range readers {
		b.Run(r.name, func(b *testing.B) {
			replay := newReplay(rec)
			c := &Conn{conn: newLink(replay, false, time.Minute, r.opts), settings: set, log: slog.New(slog.DiscardHandler)}
			defer c.Close()
			read := func() {
				if err := c.Search(context.Background(), "(objectClass=inetOrgPerson)", set.AttributeMap, func([]Entry) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			read() // warm the buffers
			perEntry(b, rec.entries, read)
		})
	}
}

// perEntry runs read b.N times and reports ns, CPU ns, allocations and
// bytes per entry.
func perEntry(b *testing.B, entries int, read func()) {
	var ms0, ms1 runtime.MemStats
	var ru0, ru1 syscall.Rusage
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for b.Loop() {
		read()
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	runtime.ReadMemStats(&ms1)
	n := float64(b.N * entries)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/entry")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/entry")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/entry")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, "B/entry")
}

// BenchmarkSearchSlapd reads 2,000 entries from a live slapd through each
// reader, pages of 500: wall time includes slapd's, CPU time is this
// process's (slapd runs in another).
func BenchmarkSearchSlapd(b *testing.B) {
	srv := testenv.StartSlapd(b, testenv.PeopleLDIF(2000, 10))
	set := slapdSettings(srv, srv.URL)
	for _, r := range readers {
		b.Run(r.name, func(b *testing.B) {
			c, err := dial(context.Background(), set, srv.AdminPassword, nil, r.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			read := func() {
				if err := c.Search(context.Background(), "(objectClass=inetOrgPerson)", set.AttributeMap, func([]Entry) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			read()
			perEntry(b, 2000, read)
		})
	}
}
