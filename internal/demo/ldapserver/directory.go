package ldapserver

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Entry is one directory object. Attribute names are matched without regard
// to case, as LDAP does; the names as given here are the ones returned.
type Entry struct {
	DN         string
	Attributes map[string][]string
}

// Get returns the values of attribute name, matched without regard to case.
func (e *Entry) Get(name string) []string {
	if v, ok := e.Attributes[name]; ok {
		return v
	}
	for k, v := range e.Attributes {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// Set replaces the values of attribute name (any existing spelling of the
// name is replaced); no values removes the attribute.
func (e *Entry) Set(name string, values ...string) {
	for k := range e.Attributes {
		if strings.EqualFold(k, name) {
			delete(e.Attributes, k)
		}
	}
	if len(values) == 0 {
		return
	}
	if e.Attributes == nil {
		e.Attributes = map[string][]string{}
	}
	e.Attributes[name] = slices.Clone(values)
}

func (e Entry) clone() Entry {
	c := Entry{DN: e.DN, Attributes: make(map[string][]string, len(e.Attributes))}
	for k, v := range e.Attributes {
		c.Attributes[k] = slices.Clone(v)
	}
	return c
}

// attribute is one attribute of a stored record: its name as given and its values.
type attribute struct {
	name   string
	values []string
}

// record is an entry prepared for searching: the DN split into normalized
// RDNs (leaf first) so scope checks are slice comparisons, and attributes
// keyed by lower-case name.
type record struct {
	entry Entry
	rdns  []string
	attrs map[string]attribute
	names []string // lower-case attribute names in a stable order for responses
}

func newRecord(e Entry) (*record, error) {
	rdns, err := normalizeDN(e.DN)
	if err != nil {
		return nil, err
	}
	e = e.clone()
	r := &record{entry: e, rdns: rdns, attrs: make(map[string]attribute, len(e.Attributes))}
	for name, values := range e.Attributes {
		key := strings.ToLower(name)
		if prev, ok := r.attrs[key]; ok {
			// The same attribute under two spellings: merge rather than lose values.
			values = append(slices.Clone(prev.values), values...)
			name = prev.name
		}
		r.attrs[key] = attribute{name: name, values: values}
	}
	r.names = slices.Sorted(maps.Keys(r.attrs))
	return r, nil
}

func (r *record) values(name string) []string {
	return r.attrs[strings.ToLower(name)].values
}

// normalizeDN parses dn and returns its RDNs, leaf first, in a form that
// compares equal for DNs LDAP considers equal (case, spacing, escaping).
func normalizeDN(dn string) ([]string, error) {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return nil, fmt.Errorf("ldapserver: parse DN %q: %w", dn, err)
	}
	rdns := make([]string, len(parsed.RDNs))
	for i, rdn := range parsed.RDNs {
		rdns[i] = strings.ToLower(rdn.String())
	}
	return rdns, nil
}

func dnKey(rdns []string) string { return strings.Join(rdns, ",") }

// inScope reports whether a record with RDNs rdns lies within scope of base.
func inScope(rdns, base []string, scope int64) bool {
	if len(rdns) < len(base) || !slices.Equal(rdns[len(rdns)-len(base):], base) {
		return false
	}
	switch scope {
	case scopeBase:
		return len(rdns) == len(base)
	case scopeOne:
		return len(rdns) == len(base)+1
	default:
		return true
	}
}

const (
	scopeBase = 0
	scopeOne  = 1
	scopeSub  = 2
)

// snapshot is an immutable view of the directory. Searches and paging
// cursors hold a snapshot, so changes made while a client pages through
// results never make it see an entry twice or skip one.
type snapshot struct {
	records []*record
	byDN    map[string]int
}

func newSnapshot(entries []Entry) (*snapshot, error) {
	s := &snapshot{records: make([]*record, 0, len(entries)), byDN: make(map[string]int, len(entries))}
	for _, e := range entries {
		r, err := newRecord(e)
		if err != nil {
			return nil, err
		}
		key := dnKey(r.rdns)
		if _, dup := s.byDN[key]; dup {
			return nil, fmt.Errorf("ldapserver: duplicate entry %q", e.DN)
		}
		s.byDN[key] = len(s.records)
		s.records = append(s.records, r)
	}
	return s, nil
}

// with returns a copy of s with the record at index i replaced by r.
func (s *snapshot) with(i int, r *record) (*snapshot, error) {
	oldKey, newKey := dnKey(s.records[i].rdns), dnKey(r.rdns)
	n := &snapshot{records: slices.Clone(s.records), byDN: s.byDN}
	n.records[i] = r
	if oldKey != newKey {
		if _, dup := s.byDN[newKey]; dup {
			return nil, fmt.Errorf("ldapserver: duplicate entry %q", r.entry.DN)
		}
		n.byDN = maps.Clone(s.byDN)
		delete(n.byDN, oldKey)
		n.byDN[newKey] = i
	}
	return n, nil
}

// Replace swaps the whole directory for entries. Searches already paging
// keep the directory they started with.
func (s *Server) Replace(entries []Entry) error {
	snap, err := newSnapshot(entries)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.dir.Store(snap)
	return nil
}

// Modify changes the entry named dn in place through fn, which gets a copy
// it may change freely (including its DN).
func (s *Server) Modify(dn string, fn func(*Entry)) error {
	rdns, err := normalizeDN(dn)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	cur := s.dir.Load()
	i, ok := cur.byDN[dnKey(rdns)]
	if !ok {
		return fmt.Errorf("ldapserver: modify %q: no such entry", dn)
	}
	e := cur.records[i].entry.clone()
	fn(&e)
	r, err := newRecord(e)
	if err != nil {
		return fmt.Errorf("ldapserver: modify %q: %w", dn, err)
	}
	next, err := cur.with(i, r)
	if err != nil {
		return fmt.Errorf("ldapserver: modify %q: %w", dn, err)
	}
	s.dir.Store(next)
	return nil
}

// Entries returns a copy of the directory's entries in their order.
func (s *Server) Entries() []Entry {
	snap := s.dir.Load()
	out := make([]Entry, len(snap.records))
	for i, r := range snap.records {
		out[i] = r.entry.clone()
	}
	return out
}
