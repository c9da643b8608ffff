package directory

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
	"idm/internal/testenv"
)

// reader is one way a Conn reads the search stream: the streaming reader
// (what the product runs) or go-ldap's client (what it ran before, the
// reference).
type reader struct {
	name string
	opts []dialOption
}

var readers = []reader{{"stream", nil}, {"go-ldap", []dialOption{viaGoLDAP}}}

func dialReader(t *testing.T, set domain.LDAPSettings, password string, r reader, extra ...dialOption) *Conn {
	t.Helper()
	c, err := dial(context.Background(), set, password, nil, append(append([]dialOption(nil), r.opts...), extra...)...)
	if err != nil {
		t.Fatalf("dial (%s): %v", r.name, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetLogger(slog.New(slog.DiscardHandler))
	return c
}

// entryCopy is an entry as the reader delivered it: every attribute and
// every value, in order, copied out of the reader's buffer.
type entryCopy struct {
	DN    string
	Attrs []attrCopy
}

type attrCopy struct {
	Name   string
	Values []string
}

func copyEntry(e *rawEntry) entryCopy {
	c := entryCopy{DN: string(e.dn)}
	for i, a := range e.attrs {
		ac := attrCopy{Name: string(a.name), Values: []string{}}
		for _, v := range e.values(i) {
			ac.Values = append(ac.Values, string(v))
		}
		c.Attrs = append(c.Attrs, ac)
	}
	return c
}

// rawSink records every page's entries as delivered, empty pages too.
type rawSink struct {
	pages [][]entryCopy
	cur   []entryCopy
}

func (s *rawSink) entry(e *rawEntry) { s.cur = append(s.cur, copyEntry(e)) }
func (s *rawSink) flush([]string) error {
	s.pages, s.cur = append(s.pages, s.cur), nil
	return nil
}

// mappedEntry is an Entry with its error as text, comparable.
type mappedEntry struct {
	DN     string
	Person domain.Person
	Err    string
}

// transcript is everything a reader delivered for one search: the raw
// pages, the pages Search handed over after mapping, the references it
// counted and the error it ended with.
type transcript struct {
	Raw       [][]entryCopy
	RawErr    string
	Mapped    [][]mappedEntry
	Referrals int
	Err       string
}

// diffSearch is one search that both readers run.
type diffSearch struct {
	name   string
	base   string // "" for the settings' base DN
	filter string
	attrs  []string // for the raw pass; Search requests m's attributes
	m      domain.AttributeMap
	size   int
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// run performs ds on a fresh connection of reader r: the raw paged pass,
// then Search with the mapping.
func (ds diffSearch) run(t *testing.T, set domain.LDAPSettings, password string, r reader, extra ...dialOption) transcript {
	t.Helper()
	set.PageSize, set.AttributeMap = ds.size, ds.m
	if ds.base != "" {
		set.BaseDN = ds.base
	}
	var tr transcript
	c := dialReader(t, set, password, r, extra...)
	var sink rawSink
	tr.RawErr = errText(c.pages(context.Background(), ds.filter, ds.attrs, ds.size, &sink))
	tr.Raw = sink.pages
	tr.search(c, ds)
	tr.Referrals = c.Referrals()
	return tr
}

// search runs Search for ds on c and records the pages and the error.
func (tr *transcript) search(c *Conn, ds diffSearch) {
	err := c.Search(context.Background(), ds.filter, ds.m, func(page []Entry) error {
		var mp []mappedEntry
		for _, e := range page {
			mp = append(mp, mappedEntry{DN: e.DN, Person: e.Person, Err: errText(e.Err)})
		}
		tr.Mapped = append(tr.Mapped, mp)
		return nil
	})
	tr.Err = errText(err)
}

// requireSame fails with the first difference between the readers'
// transcripts.
func requireSame(t *testing.T, name string, got, want transcript) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	if len(got.Raw) != len(want.Raw) {
		t.Fatalf("%s: stream read %d raw pages, go-ldap %d", name, len(got.Raw), len(want.Raw))
	}
	for i := range got.Raw {
		if len(got.Raw[i]) != len(want.Raw[i]) {
			t.Fatalf("%s: raw page %d has %d entries from the stream reader, %d from go-ldap", name, i+1, len(got.Raw[i]), len(want.Raw[i]))
		}
		for j := range got.Raw[i] {
			if !reflect.DeepEqual(got.Raw[i][j], want.Raw[i][j]) {
				t.Fatalf("%s: raw page %d entry %d differs:\n stream  %.300q\n go-ldap %.300q", name, i+1, j, fmt.Sprint(got.Raw[i][j]), fmt.Sprint(want.Raw[i][j]))
			}
		}
	}
	t.Fatalf("%s: transcripts differ:\n stream  raw error %q, error %q, referrals %d, mapped %.600v\n go-ldap raw error %q, error %q, referrals %d, mapped %.600v",
		name, got.RawErr, got.Err, got.Referrals, got.Mapped, want.RawErr, want.Err, want.Referrals, want.Mapped)
}

// both runs ds through both readers and requires the same transcript.
// With -capture, what source's server sent goes into the fuzz corpus.
func (ds diffSearch) both(t *testing.T, source string, set domain.LDAPSettings, password string) transcript {
	t.Helper()
	capture, save := capturing(t, source, ds.name)
	got := ds.run(t, set, password, readers[0], capture...)
	save()
	want := ds.run(t, set, password, readers[1])
	requireSame(t, ds.name, got, want)
	return got
}

// capturing returns, with -capture, a dial option that records what the
// server sends and a function that writes it into the fuzz corpus; without
// it, nothing and a no-op.
func capturing(t *testing.T, source, name string) ([]dialOption, func()) {
	if !*captureCorpus {
		return nil, func() {}
	}
	var rec *recordingConn
	opt := wrapConn(func(nc net.Conn) net.Conn { rec = &recordingConn{Conn: nc}; return rec })
	return []dialOption{opt}, func() {
		if rec != nil {
			writeSeeds(t, source, name, rec.received())
		}
	}
}

// diffFixture is the directory of the differential test: entries with
// many values, binary, UTF-8 and empty values, one value of 1 MiB, a
// referral object, 60 generated people (every 7th locked) to page through,
// and under ou=photos 16 entries of 1 MiB each, enough to fill the socket
// buffers while a client does not read.
func diffFixture(t *testing.T) string {
	t.Helper()
	random := func(n int) string {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	binary := base64.StdEncoding.EncodeToString([]byte{0x00, 0xff, 0xfe, 0x01, 0x80, 0x7f, 0, 0, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x0a})
	utf8Name := base64.StdEncoding.EncodeToString([]byte("Åsa Ødegård 李小龍 🚀"))
	control := base64.StdEncoding.EncodeToString([]byte("Head\x01of"))
	var b strings.Builder
	fmt.Fprintf(&b, `dn: uid=multi,%[1]s
objectClass: inetOrgPerson
objectClass: organizationalPerson
uid: multi
cn: Multi Valued
cn: Second Name
sn: Valued
mail: first@example.com
mail: second@example.com
mail: third@example.com
telephoneNumber: +1 555 0001
telephoneNumber: +1 555 0002
description:
carLicense:
jpegPhoto:: %[2]s
entryUUID: 0a0b0c0d-0000-4000-8000-00000000000a

dn: uid=åsa,%[1]s
objectClass: inetOrgPerson
uid: åsa
cn: Åsa
givenName: Åsa
sn: Ødegård-李
displayName:: %[3]s
title: Ingénieure en chef
departmentNumber: Forskning & Utveckling

`, testenv.SlapdPeopleDN, binary, utf8Name)
	writePerson(&b, "control", testenv.SlapdPeopleDN, "Control", "Character", "title", control)
	writePerson(&b, "big", testenv.SlapdPeopleDN, "Big", "Photo", "jpegPhoto", random(1<<20))
	fmt.Fprintf(&b, `dn: ou=elsewhere,%[1]s
objectClass: referral
objectClass: extensibleObject
ou: elsewhere
ref: ldap://other.example.com/ou=elsewhere,dc=example,dc=com

dn: ou=photos,dc=example,dc=com
objectClass: organizationalUnit
ou: photos

`, testenv.SlapdPeopleDN)
	for i := range 16 {
		writePerson(&b, fmt.Sprintf("photo%d", i), "ou=photos,dc=example,dc=com", "Photo", "Photo", "jpegPhoto", random(1<<20))
	}
	b.WriteString(testenv.PeopleLDIF(60, 7))
	return b.String()
}

// writePerson writes the LDIF of the inetOrgPerson uid under parent, with
// one base64 value of attr.
func writePerson(b *strings.Builder, uid, parent, cn, sn, attr, base64Value string) {
	fmt.Fprintf(b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n%s:: %s\n\n", uid, parent, uid, cn, sn, attr, base64Value)
}

// binaryMap maps the title to the binary photo, so that mapping errors
// (not UTF-8) are compared too.
func binaryMap() domain.AttributeMap {
	m := openLDAPMap()
	m.Title, m.Phone = "jpegPhoto", "telephoneNumber"
	return m
}

// TestDifferentialSlapd runs every fixture through both readers against
// slapd and requires identical transcripts: every entry with every
// attribute and value in order, page boundaries, references, mapping
// results and errors.
func TestDifferentialSlapd(t *testing.T) {
	srv := testenv.StartSlapd(t, diffFixture(t))
	set := slapdSettings(srv, srv.URL)
	runDifferential(t, "slapd", set, srv.AdminPassword, slapdSearches(srv))
	t.Run("TimeLimit", func(t *testing.T) { differentialTimeLimit(t, "slapd", set, srv.AdminPassword) })
	people := set
	people.BaseDN = srv.PeopleDN
	t.Run("CutMidPage", func(t *testing.T) { differentialCut(t, people, srv.AdminPassword, 7) })
}

func slapdSearches(srv *testenv.Slapd) []diffSearch {
	all := []string{"*", "entryUUID"}
	people := "(objectClass=inetOrgPerson)"
	return []diffSearch{
		{name: "EveryAttributeOverPageBoundaries", base: srv.PeopleDN, filter: "(objectClass=*)", attrs: all, m: openLDAPMap(), size: 7},
		{name: "JobAttributesOnePage", base: srv.PeopleDN, filter: "(uid=*)", attrs: openLDAPMap().Attributes(), m: openLDAPMap(), size: 500},
		{name: "ActiveFilter", base: srv.PeopleDN, filter: domain.DefaultLDAPSettings().ActiveFilter, attrs: openLDAPMap().Attributes(), m: openLDAPMap(), size: 11},
		{name: "BinaryMapping", base: srv.PeopleDN, filter: people, attrs: binaryMap().Attributes(), m: binaryMap(), size: 5},
		{name: "NoAttributes", base: srv.PeopleDN, filter: people, attrs: []string{"1.1"}, m: openLDAPMap(), size: 13},
		{name: "OneMiBValue", base: srv.PeopleDN, filter: "(uid=big)", attrs: all, m: binaryMap(), size: 500},
		{name: "ErrReferralResult", base: "ou=elsewhere," + srv.PeopleDN, filter: people, attrs: all, m: openLDAPMap(), size: 5},
		{name: "ErrNoSuchObject", base: "ou=nowhere,dc=example,dc=com", filter: people, attrs: all, m: openLDAPMap(), size: 5},
	}
}

// runDifferential runs the searches, a non-paged search cut by a size
// limit, counts and samples through both readers.
func runDifferential(t *testing.T, source string, set domain.LDAPSettings, password string, searches []diffSearch) {
	for _, ds := range searches {
		t.Run(ds.name, func(t *testing.T) {
			tr := ds.both(t, source, set, password)
			t.Logf("%d raw pages, %d mapped pages, %d references, error %q", len(tr.Raw), len(tr.Mapped), tr.Referrals, tr.Err)
		})
	}
	t.Run("SizeLimitWithoutPaging", func(t *testing.T) {
		var got [2]transcript
		capture, save := capturing(t, source, "SizeLimit")
		defer save()
		for i, r := range readers {
			c := dialReader(t, set, password, r, capture...)
			capture = nil
			compiled, err := ldap.CompileFilter(set.ActiveFilter)
			if err != nil {
				t.Fatal(err)
			}
			req := &pageRequest{baseDN: set.BaseDN, scope: ldap.ScopeWholeSubtree, sizeLimit: 5, timeLimit: 10,
				filter: set.ActiveFilter, compiled: compiled, attrs: []string{"*"}}
			var sink rawSink
			_, err = c.conn.searchPage(context.Background(), req, sink.entry)
			got[i] = transcript{Raw: [][]entryCopy{sink.cur}, RawErr: errText(err)}
		}
		requireSame(t, "size limit", got[0], got[1])
		if source != "slapd" {
			return // Samba does not apply a client's size limit: agreement is what counts
		}
		if len(got[0].Raw[0]) != 5 || !strings.Contains(got[0].RawErr, "Size Limit Exceeded") {
			t.Fatalf("want 5 entries and a size limit result, got %d entries, %q", len(got[0].Raw[0]), got[0].RawErr)
		}
	})
	t.Run("RootDSEAndSchema", func(t *testing.T) {
		var got [2][]entryCopy
		for i, r := range readers {
			c := dialReader(t, set, password, r)
			got[i] = readSchema(t, c)
		}
		if !reflect.DeepEqual(got[0], got[1]) || len(got[0]) != 2 || len(got[0][1].Attrs) == 0 {
			t.Fatalf("stream read %.500v\ngo-ldap read %.500v", got[0], got[1])
		}
	})
	t.Run("CountAndSample", func(t *testing.T) {
		var counts [2]int
		var samples [2][]Entry
		for i, r := range readers {
			c := dialReader(t, set, password, r)
			var err error
			if counts[i], err = c.Count(context.Background(), set.ActiveFilter); err != nil {
				t.Fatalf("Count (%s): %v", r.name, err)
			}
			if samples[i], err = c.Sample(context.Background(), set.ActiveFilter, set.AttributeMap, SampleSize); err != nil {
				t.Fatalf("Sample (%s): %v", r.name, err)
			}
		}
		if counts[0] != counts[1] || counts[0] == 0 || !reflect.DeepEqual(samples[0], samples[1]) || len(samples[0]) != SampleSize {
			t.Fatalf("stream: %d, %v\ngo-ldap: %d, %v", counts[0], samples[0], counts[1], samples[1])
		}
	})
}

// differentialTimeLimit makes slapd's time limit strike mid-search: the
// client does not read for 2.5 s while 16 MiB wait to be sent, with a
// server-side limit of one second. Both readers must fail the same way.
func differentialTimeLimit(t *testing.T, source string, set domain.LDAPSettings, password string) {
	set.SearchTimeoutSeconds = 10 // the client waits; the server's limit is 1 s
	ds := diffSearch{name: "TimeLimit", base: "ou=photos,dc=example,dc=com", filter: "(objectClass=inetOrgPerson)", attrs: []string{"*"}, m: openLDAPMap(), size: 500}
	var got [2]transcript
	var wg sync.WaitGroup
	var rec *recordingConn
	for i, r := range readers {
		var slow *slowConn
		wrap := wrapConn(func(nc net.Conn) net.Conn {
			slow = &slowConn{Conn: nc}
			if *captureCorpus && rec == nil {
				rec = &recordingConn{Conn: slow}
				return rec
			}
			return slow
		})
		c := dialReader(t, set, password, r, wrap)
		c.settings.BaseDN = ds.base
		slow.arm(2500 * time.Millisecond)
		wg.Go(func() { got[i] = transcript{Err: errText(c.pagesWithLimit(1, ds.filter, ds.attrs, ds.size))} })
	}
	wg.Wait()
	if rec != nil {
		writeSeeds(t, source, "TimeLimit", rec.received())
	}
	requireSame(t, "time limit", got[0], got[1])
	if !strings.Contains(got[0].Err, "time limit exceeded (3)") {
		t.Fatalf("want a time limit result, got %q", got[0].Err)
	}
}

// pagesWithLimit runs a paged search whose requests carry a server-side
// time limit of limit seconds, keeping the connection's own timeout.
func (c *Conn) pagesWithLimit(limit int, filter string, attrs []string, size int) error {
	saved := c.settings.SearchTimeoutSeconds
	c.settings.SearchTimeoutSeconds = limit
	defer func() { c.settings.SearchTimeoutSeconds = saved }()
	var sink rawSink
	return c.pages(context.Background(), filter, attrs, size, &sink)
}

// differentialCut reads the active filter in pages of size and cuts the
// connection in the middle of the second page: both readers must hand over
// the first page only and fail on the second with the same message.
func differentialCut(t *testing.T, set domain.LDAPSettings, password string, size int) {
	ds := diffSearch{name: "Cut", filter: set.ActiveFilter, attrs: set.AttributeMap.Attributes(), m: set.AttributeMap, size: size}
	// First the whole answer, recorded, to find where page 2 lies.
	var rec *recordingConn
	full := ds.run(t, set, password, readers[0], wrapConn(func(nc net.Conn) net.Conn { rec = &recordingConn{Conn: nc}; return rec }))
	if len(full.Mapped) < 3 {
		t.Fatalf("fixture too small: %d pages", len(full.Mapped))
	}
	bounds := doneOffsets(t, rec.received())
	// bounds[0] ends the bind response; bounds[1] page 1 of the raw pass.
	cut := (bounds[1] + bounds[2]) / 2
	var got [2]transcript
	for i, r := range readers {
		got[i] = ds.runSearchOnly(t, set, password, r, wrapConn(func(nc net.Conn) net.Conn { return &cutConn{Conn: nc, limit: cut} }))
	}
	requireSame(t, "cut", got[0], got[1])
	if len(got[0].Mapped) != 1 || !strings.Contains(got[0].Err, "failed on page 2: the connection to the directory was lost") {
		t.Fatalf("want page 1 then a lost connection on page 2, got %d pages and %q", len(got[0].Mapped), got[0].Err)
	}
}

// runSearchOnly is run without the raw pass.
func (ds diffSearch) runSearchOnly(t *testing.T, set domain.LDAPSettings, password string, r reader, extra ...dialOption) transcript {
	t.Helper()
	set.PageSize = ds.size
	if ds.base != "" {
		set.BaseDN = ds.base
	}
	var tr transcript
	tr.search(dialReader(t, set, password, r, extra...), ds)
	return tr
}

// doneOffsets splits a recorded answer into messages and returns the
// offset just past each BindResponse and SearchResultDone.
func doneOffsets(t *testing.T, stream []byte) []int {
	t.Helper()
	mr := newMessageReader(strings.NewReader(string(stream)))
	var out []int
	consumed := 0
	for {
		content, err := mr.next()
		if err != nil {
			return out
		}
		consumed += headerLen(len(content)) + len(content)
		msg, err := parseMessage(content)
		if err != nil {
			t.Fatalf("recorded answer: %v", err)
		}
		if msg.opTag == tagSearchDone || msg.opTag == tagBindResponse {
			out = append(out, consumed)
		}
	}
}

// headerLen is the size of a SEQUENCE header with a minimal length
// encoding, as servers send them.
func headerLen(n int) int {
	switch {
	case n < 0x80:
		return 2
	case n <= 0xff:
		return 3
	case n <= 0xffff:
		return 4
	case n <= 0xffffff:
		return 5
	}
	return 6
}

// TestDifferentialSlapdStopped stops the directory between two pages: both
// readers hand over the first page and fail on the second alike.
func TestDifferentialSlapdStopped(t *testing.T) {
	srv := testenv.StartSlapd(t, testenv.PeopleLDIF(300, 0))
	set := slapdSettings(srv, srv.URL)
	set.PageSize = 100
	var got [2]transcript
	for i, r := range readers {
		c := dialReader(t, set, srv.AdminPassword, r)
		err := c.Search(context.Background(), set.ActiveFilter, set.AttributeMap, func(page []Entry) error {
			got[i].Mapped = append(got[i].Mapped, nil)
			if len(got[i].Mapped) == 1 {
				srv.Stop()
			}
			return nil
		})
		got[i].Err = errText(err)
		srv.Start()
	}
	requireSame(t, "stopped", got[0], got[1])
	t.Logf("both readers: %s", got[0].Err)
	if len(got[0].Mapped) != 1 || !strings.Contains(got[0].Err, "failed on page 2") {
		t.Fatalf("want page 1 and a failure on page 2, got %d pages, %q", len(got[0].Mapped), got[0].Err)
	}
}

// readSchema reads the root DSE and the subschema entry it names (many
// values, one large message) with Conn.do.
func readSchema(t *testing.T, c *Conn) []entryCopy {
	t.Helper()
	var out []entryCopy
	base := ""
	for _, q := range []struct{ filter, attr string }{{"(objectClass=*)", "subschemaSubentry"}, {"(objectClass=subschema)", "attributeTypes"}} {
		res, err := c.do(context.Background(), ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 10, false, q.filter, []string{"*", "+", q.attr}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("read %q: %v", base, err)
		}
		var raw rawEntry
		fromLDAPEntry(res.Entries[0], &raw)
		out = append(out, copyEntry(&raw))
		base = res.Entries[0].GetAttributeValue("subschemaSubentry")
	}
	return out
}
