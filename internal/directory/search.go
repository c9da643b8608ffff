package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
)

// Entry is one directory entry as the engine receives it: its DN and the
// mapped Person, or Err when the entry could not be mapped (a per-user error
// for the run, never a reason to stop it).
type Entry struct {
	DN     string
	Person domain.Person
	Err    error
}

// Search runs filter under the settings' base DN and scope as an RFC 2696
// paged search, and calls fn once for each page that holds entries, in
// order. Only one page is held at a time: memory does not grow with the
// directory. The whole search fails when any page fails or times out, when
// ctx ends (checked between pages; a ctx that ends during a page closes the
// connection) or when fn returns an error, which Search returns as it is.
// Callers must therefore never treat what fn saw before an error as the
// complete result. fn may keep the page slice.
func (c *Conn) Search(ctx context.Context, filter string, m domain.AttributeMap, fn func(page []Entry) error) error {
	size := c.pageSize()
	return c.pages(ctx, filter, m.Attributes(), size, &pageCollector{mp: newMapper(m), size: size, fn: fn})
}

// pageSink receives a paged search's entries: entry for each entry as it
// is decoded (its view valid only during the call), then flush with the
// page's references once the page has ended well. A page that fails is
// never flushed: the search ends.
type pageSink interface {
	entry(e *rawEntry)
	flush(referrals []string) error
}

// pageCollector maps each entry as it arrives and hands fn the page.
type pageCollector struct {
	mp   *mapper
	size int
	page []Entry
	fn   func([]Entry) error
}

func (pc *pageCollector) entry(e *rawEntry) {
	if pc.page == nil {
		pc.page = make([]Entry, 0, min(pc.size, 1000))
	}
	dn, p, err := pc.mp.mapEntry(e)
	pc.page = append(pc.page, Entry{DN: dn, Person: p, Err: err})
}

func (pc *pageCollector) flush([]string) error {
	page := pc.page
	pc.page = nil
	if len(page) == 0 {
		return nil
	}
	return pc.fn(page)
}

// counter counts entries, keeping nothing.
type counter struct{ n int }

func (k *counter) entry(*rawEntry)      { k.n++ }
func (k *counter) flush([]string) error { return nil }

// Count returns how many entries filter finds, paging like Search and
// requesting no attributes ("1.1").
func (c *Conn) Count(ctx context.Context, filter string) (int, error) {
	var k counter
	if err := c.pages(ctx, filter, []string{"1.1"}, c.pageSize(), &k); err != nil {
		return 0, err
	}
	return k.n, nil
}

// ReadBase reads the base DN entry itself, so that a wrong base DN is named
// as such rather than showing up as an empty search.
func (c *Conn) ReadBase(ctx context.Context) error {
	base := c.settings.BaseDN
	req := ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1,
		c.timeLimit(), false, "(objectClass=*)", []string{"1.1"}, nil)
	res, err := c.do(ctx, req)
	if err == nil && len(res.Entries) == 0 {
		err = errors.New("the server returned no entry for it")
	}
	if err != nil {
		return &StepError{Step: StepBaseDN, Subject: base, Err: err}
	}
	return nil
}

// do sends one search request, not paged, and returns its answer shaped as
// go-ldap's Search shapes it (entries copied out of the reader, the first
// URI of each reference): for the small reads such as the base entry. The
// request's controls are not sent and aliases are never dereferenced.
func (c *Conn) do(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	compiled, err := ldap.CompileFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	pr := &pageRequest{baseDN: req.BaseDN, scope: req.Scope, sizeLimit: req.SizeLimit, timeLimit: req.TimeLimit,
		filter: req.Filter, compiled: compiled, attrs: req.Attributes}
	res := &ldap.SearchResult{}
	end, err := c.conn.searchPage(ctx, pr, func(e *rawEntry) { res.Entries = append(res.Entries, toLDAPEntry(e)) })
	res.Referrals = end.referrals
	return res, err
}

// toLDAPEntry copies a decoded entry into a go-ldap entry.
func toLDAPEntry(e *rawEntry) *ldap.Entry {
	out := &ldap.Entry{DN: string(e.dn)}
	for i, a := range e.attrs {
		attr := &ldap.EntryAttribute{Name: string(a.name)}
		for _, v := range e.values(i) {
			attr.Values = append(attr.Values, string(v))
			attr.ByteValues = append(attr.ByteValues, bytes.Clone(v))
		}
		out.Attributes = append(out.Attributes, attr)
	}
	return out
}

// errStop ends a paged search early without it being an error.
var errStop = errors.New("directory: stop paging")

// sampler keeps the first n entries, mapped, and stops the search once it
// has them.
type sampler struct {
	mp  *mapper
	n   int
	out []Entry
}

func (s *sampler) entry(e *rawEntry) {
	if len(s.out) < s.n {
		dn, p, err := s.mp.mapEntry(e)
		s.out = append(s.out, Entry{DN: dn, Person: p, Err: err})
	}
}

func (s *sampler) flush([]string) error {
	if len(s.out) == s.n {
		return errStop
	}
	return nil
}

// Sample returns up to n entries that filter finds, mapped, reading a single
// small page and abandoning the rest.
func (c *Conn) Sample(ctx context.Context, filter string, m domain.AttributeMap, n int) ([]Entry, error) {
	s := &sampler{mp: newMapper(m), n: n}
	err := c.pages(ctx, filter, m.Attributes(), n, s)
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return s.out, nil
}

func (c *Conn) pageSize() int {
	if c.settings.PageSize <= 0 {
		return defaultPageSize
	}
	return c.settings.PageSize
}

// timeLimit is the server-side limit in seconds for one request; the
// client-side timeout set on the connection is the same length.
func (c *Conn) timeLimit() int {
	return int(seconds(c.settings.SearchTimeoutSeconds, defaultSearchTimeout).Seconds())
}

func scope(s string) (int, error) {
	switch s {
	case domain.ScopeSub, "":
		return ldap.ScopeWholeSubtree, nil
	case domain.ScopeOne:
		return ldap.ScopeSingleLevel, nil
	case domain.ScopeBase:
		return ldap.ScopeBaseObject, nil
	}
	return 0, fmt.Errorf("scope %q is not sub, one or base", s)
}

// pages runs the paged search loop: one request per page, the cookie of each
// answer sent back with the next, until the server returns an empty cookie.
func (c *Conn) pages(ctx context.Context, filter string, attrs []string, size int, sink pageSink) error {
	compiled, err := ldap.CompileFilter(filter)
	if err != nil {
		return &StepError{Step: StepFilter, Subject: filter, Err: err}
	}
	sc, err := scope(c.settings.Scope)
	if err != nil {
		return &StepError{Step: StepSearch, Subject: filter, Err: err}
	}
	req := &pageRequest{baseDN: c.settings.BaseDN, scope: sc, timeLimit: c.timeLimit(),
		filter: filter, compiled: compiled, attrs: attrs, paged: true, pageSize: uint32(size)}

	referrals := 0
	defer func() {
		if referrals > 0 {
			c.referrals += referrals
			c.log.Warn("directory: search returned referrals; they were ignored",
				"filter", filter, "base_dn", c.settings.BaseDN, "referrals", referrals)
		}
	}()
	for page := 1; ; page++ {
		end, err := c.conn.searchPage(ctx, req, sink.entry)
		if err != nil {
			return c.searchError(filter, page, err)
		}
		referrals += len(end.referrals)
		if err := sink.flush(end.referrals); err != nil {
			c.abandon(ctx, req, end.cookie)
			return err
		}
		if len(end.cookie) == 0 {
			// No cookie back means the server ignored paging and sent
			// everything at once; it would have failed with a size limit
			// error rather than cut the result short.
			return nil
		}
		req.cookie = end.cookie
		if err := ctx.Err(); err != nil {
			return &StepError{Step: StepSearch, Subject: filter, Page: page + 1, Err: err}
		}
	}
}

func (c *Conn) searchError(filter string, page int, err error) error {
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return &StepError{Step: StepBaseDN, Subject: c.settings.BaseDN, Err: err}
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultFilterError, ldap.ErrorFilterCompile):
		return &StepError{Step: StepFilter, Subject: filter, Err: err}
	}
	return &StepError{Step: StepSearch, Subject: filter, Page: page, Err: err}
}

// abandon tells the server to drop the paged search (RFC 2696: page size 0
// with the cookie), so that it does not keep the result set for us. It is a
// courtesy: errors are ignored, and nothing is sent once ctx has ended (the
// connection is closed by then).
func (c *Conn) abandon(ctx context.Context, req *pageRequest, cookie []byte) {
	if len(cookie) == 0 || ctx.Err() != nil {
		return
	}
	req.pageSize, req.cookie = 0, cookie
	_, _ = c.conn.searchPage(ctx, req, func(*rawEntry) {})
}
