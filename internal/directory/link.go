package directory

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// link is how a Conn talks to the server once TCP and TLS are up: the
// streaming reader on a connection this package owns (the default), or
// go-ldap's client, which the tests keep as the reference the streaming
// reader must agree with (see docs/read-path.md). *ldap.Conn has the first
// three methods already.
type link interface {
	Bind(dn, password string) error
	Close() error
	TLSConnectionState() (tls.ConnectionState, bool)
	// searchPage sends one search request and calls entry for each entry
	// of its answer, in order, until the SearchResultDone. entry's view is
	// valid only during the call. A result code other than success is an
	// *ldap.Error. When ctx ends, the connection is closed and ctx's error
	// returned.
	searchPage(ctx context.Context, req *pageRequest, entry func(*rawEntry)) (pageEnd, error)
}

// pageRequest is one search request: a whole non-paged search, or one page
// of an RFC 2696 paged one.
type pageRequest struct {
	baseDN    string
	scope     int
	sizeLimit int
	timeLimit int // seconds, for the server
	filter    string
	compiled  *ber.Packet // filter, compiled once per search
	attrs     []string
	paged     bool
	pageSize  uint32
	cookie    []byte
}

// pageEnd is what the SearchResultDone of a page said, and the references
// (the first URI of each) that came before it.
type pageEnd struct {
	cookie    []byte // nil when the search is complete (or was not paged)
	referrals []string
}

// dialOption changes how dial sets a connection up; only tests use one.
type dialOption func(*dialConfig)

type dialConfig struct {
	goLDAP bool
	wrap   func(net.Conn) net.Conn
}

// viaGoLDAP makes the connection bind and search through go-ldap's client
// instead of the streaming reader: the reference of the differential tests.
func viaGoLDAP(c *dialConfig) { c.goLDAP = true }

// wrapConn puts wrap between the link and the network once TCP and TLS are
// up: tests record what the server sends, slow it down or cut it short.
func wrapConn(wrap func(net.Conn) net.Conn) dialOption {
	return func(c *dialConfig) { c.wrap = wrap }
}

// newLink starts the chosen link on nc, whose TCP and TLS are up; every
// request on it is bounded by timeout.
func newLink(nc net.Conn, isTLS bool, timeout time.Duration, opts []dialOption) link {
	var cfg dialConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.wrap != nil {
		nc = cfg.wrap(nc)
	}
	if !cfg.goLDAP {
		return newStream(nc, timeout)
	}
	lc := ldap.NewConn(nc, isTLS)
	lc.Start()
	lc.SetTimeout(timeout)
	return goLDAPLink{lc}
}

// goLDAPLink runs searches through go-ldap, as every search ran before the
// streaming reader.
type goLDAPLink struct{ *ldap.Conn }

func (l goLDAPLink) searchPage(ctx context.Context, req *pageRequest, entry func(*rawEntry)) (pageEnd, error) {
	var controls []ldap.Control
	var paging *ldap.ControlPaging
	if req.paged {
		paging = ldap.NewControlPaging(req.pageSize)
		paging.SetCookie(req.cookie)
		controls = []ldap.Control{paging}
	}
	sr := ldap.NewSearchRequest(req.baseDN, req.scope, ldap.NeverDerefAliases, req.sizeLimit,
		req.timeLimit, false, req.filter, req.attrs, controls)
	if err := ctx.Err(); err != nil {
		return pageEnd{}, err
	}
	// go-ldap takes no context: a ctx that ends while the request waits
	// closes the connection, and the error becomes ctx's.
	stop := context.AfterFunc(ctx, func() { _ = l.Conn.Close() })
	res, err := l.Conn.Search(sr)
	if !stop() && ctx.Err() != nil {
		return pageEnd{}, ctx.Err()
	}
	if res != nil {
		var raw rawEntry
		for _, e := range res.Entries {
			fromLDAPEntry(e, &raw)
			entry(&raw)
		}
	}
	if err != nil {
		return pageEnd{}, err
	}
	end := pageEnd{referrals: res.Referrals}
	if pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging); ok && len(pc.Cookie) > 0 {
		end.cookie = pc.Cookie
	}
	return end, nil
}
