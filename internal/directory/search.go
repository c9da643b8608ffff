package directory

import (
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
	return c.pages(ctx, filter, m.Attributes(), c.pageSize(), func(res *ldap.SearchResult) error {
		if len(res.Entries) == 0 {
			return nil
		}
		page := make([]Entry, len(res.Entries))
		for i, e := range res.Entries {
			p, err := MapEntry(e, m)
			page[i] = Entry{DN: e.DN, Person: p, Err: err}
		}
		return fn(page)
	})
}

// Count returns how many entries filter finds, paging like Search and
// requesting no attributes ("1.1").
func (c *Conn) Count(ctx context.Context, filter string) (int, error) {
	n := 0
	err := c.pages(ctx, filter, []string{"1.1"}, c.pageSize(), func(res *ldap.SearchResult) error {
		n += len(res.Entries)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
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

// errStop ends a paged search early without it being an error.
var errStop = errors.New("directory: stop paging")

// Sample returns up to n entries that filter finds, mapped, reading a single
// small page and abandoning the rest.
func (c *Conn) Sample(ctx context.Context, filter string, m domain.AttributeMap, n int) ([]Entry, error) {
	var out []Entry
	err := c.pages(ctx, filter, m.Attributes(), n, func(res *ldap.SearchResult) error {
		for _, e := range res.Entries {
			if len(out) == n {
				break
			}
			p, err := MapEntry(e, m)
			out = append(out, Entry{DN: e.DN, Person: p, Err: err})
		}
		if len(out) == n {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return out, nil
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

// do sends one request; go-ldap takes no context, so a ctx that ends while
// the request waits closes the connection, and the error becomes ctx's.
func (c *Conn) do(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.Close() })
	res, err := c.conn.Search(req)
	if !stop() && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return res, err
}

// pages runs the paged search loop: one request per page, the cookie of each
// answer sent back with the next, until the server returns an empty cookie.
func (c *Conn) pages(ctx context.Context, filter string, attrs []string, size int, fn func(*ldap.SearchResult) error) error {
	if _, err := ldap.CompileFilter(filter); err != nil {
		return &StepError{Step: StepFilter, Subject: filter, Err: err}
	}
	sc, err := scope(c.settings.Scope)
	if err != nil {
		return &StepError{Step: StepSearch, Subject: filter, Err: err}
	}
	paging := ldap.NewControlPaging(uint32(size))
	req := ldap.NewSearchRequest(c.settings.BaseDN, sc, ldap.NeverDerefAliases, 0,
		c.timeLimit(), false, filter, attrs, []ldap.Control{paging})

	referrals := 0
	defer func() {
		if referrals > 0 {
			c.referrals += referrals
			c.log.Warn("directory: search returned referrals; they were ignored",
				"filter", filter, "base_dn", c.settings.BaseDN, "referrals", referrals)
		}
	}()
	for page := 1; ; page++ {
		res, err := c.do(ctx, req)
		if err != nil {
			return c.searchError(filter, page, err)
		}
		referrals += len(res.Referrals)
		if err := fn(res); err != nil {
			c.abandon(ctx, req, paging, res)
			return err
		}
		pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(pc.Cookie) == 0 {
			// No control back means the server ignored paging and sent
			// everything at once; it would have failed with a size limit
			// error rather than cut the result short.
			return nil
		}
		paging.SetCookie(pc.Cookie)
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
// courtesy: errors are ignored, and nothing is sent once ctx has ended (do
// has closed the connection by then).
func (c *Conn) abandon(ctx context.Context, req *ldap.SearchRequest, paging *ldap.ControlPaging, res *ldap.SearchResult) {
	pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
	if !ok || len(pc.Cookie) == 0 || ctx.Err() != nil {
		return
	}
	paging.PagingSize = 0
	paging.SetCookie(pc.Cookie)
	_, _ = c.conn.Search(req)
}
