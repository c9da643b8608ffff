// Package ldapserver is a small in-memory LDAP server for the demo mode and
// for tests: simple bind with one service account, and search with real
// filter evaluation, scopes, attribute selection, size limits and the paged
// results control (RFC 2696). It speaks LDAP over TCP through
// github.com/jimlambrt/gldap, so the product's directory client talks to it
// exactly as it talks to OpenLDAP or Active Directory.
package ldapserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jimlambrt/gldap"
)

// Limits that keep a misbehaving client from growing the server's memory.
const (
	// maxCursorsPerConn bounds paged searches left unfinished on one connection.
	maxCursorsPerConn = 16
	// startTimeout bounds how long Start waits for the listener.
	startTimeout = 10 * time.Second
	// closeTimeout bounds how long Close waits for open connections: gldap
	// only notices shutdown between requests, so an idle client that keeps
	// its connection open holds Close until then.
	closeTimeout = 5 * time.Second
)

// isOperational reports whether an attribute (lower-case name) is returned
// only when asked for by name or by "+", as OpenLDAP does. pwdAccountLockedTime
// is one, which is why the OpenLDAP preset can filter on it although "*"
// does not show it.
func isOperational(key string) bool {
	switch key {
	case "entryuuid", "entrycsn", "entrydn", "createtimestamp", "modifytimestamp",
		"creatorsname", "modifiersname", "structuralobjectclass", "subschemasubentry",
		"hassubordinates", "pwdaccountlockedtime", "pwdchangedtime", "pwdfailuretime",
		"pwdpolicysubentry", "memberof":
		return true
	}
	return false
}

// Config describes a server to start.
type Config struct {
	// Addr is the TCP address to listen on; "127.0.0.1:0" when empty.
	Addr string
	// BaseDN is the naming context; searches based on it succeed even when
	// no entry has that DN.
	BaseDN string
	// BindDN and BindPassword are the only credentials a simple bind accepts.
	BindDN, BindPassword string
	// Entries is the initial directory.
	Entries []Entry
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
	// PageDelay is how long the server waits before it answers each page
	// of a paged search for attributes, as a directory across a network
	// takes its time; a search for no attributes ("1.1", a count) is
	// answered at once, as it costs a real directory a fraction of a read.
	// 0 answers every page at once.
	PageDelay time.Duration
}

// Server is a running LDAP server. Its methods are safe for concurrent use.
type Server struct {
	log      *slog.Logger
	gs       *gldap.Server
	addr     net.Addr
	baseDN   []string
	bindDN   []string
	bindPass []byte
	delay    time.Duration

	writeMu sync.Mutex // serializes Replace and Modify
	dir     atomic.Pointer[snapshot]

	mu      sync.Mutex
	bound   map[int]bool           // connection ID → authenticated
	cursors map[string]*pageCursor // paging cookie → where the next page starts

	runErr    chan error
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// pageCursor remembers a paged search between pages: the directory snapshot
// it started on and the index of the next matching record.
type pageCursor struct {
	connID int
	search string // base, scope and filter the cookie belongs to
	snap   *snapshot
	next   int
}

// Start listens on cfg.Addr and serves until Close is called or ctx ends.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s, err := newServer(cfg)
	if err != nil {
		return nil, fmt.Errorf("ldapserver: start: %w", err)
	}
	// gldap picks the port inside Run and only tells its logger which one:
	// a sink on an intercept logger catches that line and forwards the
	// library's warnings and errors to slog.
	sink := &logSink{log: s.log, listening: make(chan net.Addr, 1)}
	hl := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "ldapserver", Level: hclog.Off, Output: io.Discard})
	hl.RegisterSink(sink)
	if err := s.route(hl); err != nil {
		return nil, fmt.Errorf("ldapserver: start: %w", err)
	}
	go func() { s.runErr <- s.gs.Run(cfg.Addr) }()
	if s.addr, err = s.awaitListening(ctx, cfg.Addr, sink.listening); err != nil {
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			if err := s.Close(); err != nil {
				s.log.Warn("ldap server: close", "err", err)
			}
		case <-s.closed:
		}
	}()
	s.log.Info("ldap server listening", "url", s.URL(), "entries", len(s.dir.Load().records))
	return s, nil
}

// newServer checks cfg's names and entries and holds them in a server that
// does not listen yet.
func newServer(cfg Config) (*Server, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	baseDN, err := normalizeDN(cfg.BaseDN)
	if err != nil {
		return nil, fmt.Errorf("base DN: %w", err)
	}
	bindDN, err := normalizeDN(cfg.BindDN)
	if err != nil || len(bindDN) == 0 || cfg.BindPassword == "" {
		return nil, errors.New("a bind DN and a bind password are required")
	}
	snap, err := newSnapshot(cfg.Entries)
	if err != nil {
		return nil, err
	}
	s := &Server{
		log:      logger,
		baseDN:   baseDN,
		bindDN:   bindDN,
		bindPass: []byte(cfg.BindPassword),
		delay:    cfg.PageDelay,
		bound:    map[int]bool{},
		cursors:  map[string]*pageCursor{},
		runErr:   make(chan error, 1),
		closed:   make(chan struct{}),
	}
	s.dir.Store(snap)
	return s, nil
}

// route creates the gldap server logging to hl and routes bind and search
// to s; every write operation is refused, as the directory is read-only.
func (s *Server) route(hl hclog.Logger) error {
	var err error
	s.gs, err = gldap.NewServer(gldap.WithLogger(hl), gldap.WithOnClose(s.connClosed))
	if err != nil {
		return err
	}
	mux, err := gldap.NewMux()
	if err != nil {
		return err
	}
	for _, reg := range []error{
		mux.Bind(s.handleBind),
		mux.Search(s.handleSearch),
		mux.Modify(refuse(gldap.ApplicationModifyResponse)),
		mux.Add(refuse(gldap.ApplicationAddResponse)),
		mux.Delete(refuse(gldap.ApplicationDelResponse)),
		mux.DefaultRoute(refuse(gldap.ApplicationExtendedResponse)),
	} {
		if reg != nil {
			return fmt.Errorf("route: %w", reg)
		}
	}
	return s.gs.Router(mux)
}

// awaitListening waits until the running server reports the address it
// listens on; it stops the server when ctx ends or startTimeout passes first.
func (s *Server) awaitListening(ctx context.Context, addr string, listening <-chan net.Addr) (net.Addr, error) {
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case a := <-listening:
		return a, nil
	case err := <-s.runErr:
		if err == nil {
			err = errors.New("server stopped")
		}
		return nil, fmt.Errorf("ldapserver: start on %s: %w", addr, err)
	case <-ctx.Done():
		_ = s.gs.Stop()
		return nil, fmt.Errorf("ldapserver: start: %w", ctx.Err())
	case <-timer.C:
		_ = s.gs.Stop()
		return nil, fmt.Errorf("ldapserver: start on %s: not listening after %s", addr, startTimeout)
	}
}

// URL is the address clients connect to, such as ldap://127.0.0.1:38911.
func (s *Server) URL() string { return "ldap://" + s.addr.String() }

// Close stops accepting connections and waits for open ones to finish.
// Connections still open after a few seconds are left to end when their
// clients disconnect, and Close reports it.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		stopped := make(chan error, 1)
		go func() { stopped <- s.gs.Stop() }()
		timer := time.NewTimer(closeTimeout)
		defer timer.Stop()
		select {
		case err := <-stopped:
			if err != nil {
				s.closeErr = fmt.Errorf("ldapserver: close: %w", err)
				return
			}
		case <-timer.C:
			s.closeErr = fmt.Errorf("ldapserver: close: client connections still open after %s", closeTimeout)
			return
		}
		if err := <-s.runErr; err != nil {
			s.closeErr = fmt.Errorf("ldapserver: close: %w", err)
		}
	})
	return s.closeErr
}

func (s *Server) connClosed(connID int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bound, connID)
	for cookie, c := range s.cursors {
		if c.connID == connID {
			delete(s.cursors, cookie)
		}
	}
}

// recoverRequest keeps a bug in a handler from ending the whole program:
// gldap runs each request on its own goroutine without recovering panics there.
func (s *Server) recoverRequest(w *gldap.ResponseWriter, resp gldap.Response) {
	if v := recover(); v != nil {
		s.log.Error("ldap server: panic while serving a request", "panic", v)
		s.write(w, resp)
	}
}

func (s *Server) handleBind(w *gldap.ResponseWriter, r *gldap.Request) {
	defer s.recoverRequest(w, r.NewBindResponse(gldap.WithResponseCode(gldap.ResultOther)))
	resp := r.NewBindResponse(gldap.WithResponseCode(gldap.ResultInvalidCredentials))
	msg, err := r.GetSimpleBindMessage()
	if err != nil {
		resp.SetResultCode(gldap.ResultAuthMethodNotSupported)
		s.write(w, resp)
		return
	}
	dn, err := normalizeDN(msg.UserName)
	ok := err == nil && slices.Equal(dn, s.bindDN) &&
		subtle.ConstantTimeCompare([]byte(msg.Password), s.bindPass) == 1
	// Any bind, failed or not, replaces the connection's identity (RFC 4511 4.2.1).
	s.mu.Lock()
	s.bound[r.ConnectionID()] = ok
	s.mu.Unlock()
	if ok {
		resp.SetResultCode(gldap.ResultSuccess)
	} else {
		resp.SetDiagnosticMessage("invalid credentials")
	}
	s.write(w, resp)
}

func (s *Server) handleSearch(w *gldap.ResponseWriter, r *gldap.Request) {
	defer s.recoverRequest(w, r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultOther)))
	done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	msg, err := r.GetSearchMessage()
	if err != nil {
		done.SetResultCode(gldap.ResultProtocolError)
		s.write(w, done)
		return
	}
	if !s.pause(msg) {
		return // the server is closing
	}
	send := func(rec *record) error {
		entry := r.NewSearchResponseEntry(rec.entry.DN)
		for _, a := range selectAttributes(rec, msg.Attributes) {
			if msg.TypesOnly {
				entry.AddAttribute(a.name, nil)
			} else {
				entry.AddAttribute(a.name, a.values)
			}
		}
		return w.Write(entry)
	}
	res := s.search(r.ConnectionID(), msg, send)
	if res.aborted {
		return // the client is gone; nothing more can be written
	}
	done.SetResultCode(res.code)
	if res.diag != "" {
		done.SetDiagnosticMessage(res.diag)
	}
	if res.paging != nil {
		done.SetControls(res.paging)
	}
	s.write(w, done)
}

// pause waits PageDelay before a page of a paged search for attributes;
// false when the server closes meanwhile.
func (s *Server) pause(msg *gldap.SearchMessage) bool {
	paged := slices.ContainsFunc(msg.Controls, func(c gldap.Control) bool { _, ok := c.(*gldap.ControlPaging); return ok })
	if s.delay <= 0 || !paged || slices.Equal(msg.Attributes, []string{"1.1"}) {
		return true
	}
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closed:
		return false
	}
}

type searchResult struct {
	code    int
	diag    string
	paging  *gldap.ControlPaging
	aborted bool
}

// search finds the records msg asks for and hands each to send.
func (s *Server) search(connID int, msg *gldap.SearchMessage, send func(*record) error) searchResult {
	q, refusal, ok := s.compileSearch(connID, msg)
	if !ok {
		return refusal
	}
	if refusal, ok := s.locate(&q); !ok {
		return refusal
	}
	if q.paging != nil && q.paging.PagingSize == 0 {
		// Size zero abandons the paged search (RFC 2696 section 3); the
		// cursor was already dropped by locate.
		return searchResult{code: gldap.ResultSuccess, paging: &gldap.ControlPaging{}}
	}
	return s.sendPage(&q, send)
}

// searchQuery is a search message checked and compiled, and where in which
// directory snapshot its next page starts.
type searchQuery struct {
	connID int
	msg    *gldap.SearchMessage
	base   []string
	filter *filter
	paging *gldap.ControlPaging // nil for a search without the paging control
	key    string               // base, scope and filter: what a paging cookie belongs to
	snap   *snapshot
	start  int
}

// compileSearch refuses a search on a connection that has not bound, or
// with a base DN or filter that does not parse.
func (s *Server) compileSearch(connID int, msg *gldap.SearchMessage) (searchQuery, searchResult, bool) {
	s.mu.Lock()
	bound := s.bound[connID]
	s.mu.Unlock()
	if !bound {
		return searchQuery{}, searchResult{code: gldap.ResultInsufficientAccessRights, diag: "bind first: anonymous search is not allowed"}, false
	}
	base, err := normalizeDN(msg.BaseDN)
	if err != nil {
		return searchQuery{}, searchResult{code: gldap.ResultInvalidDNSyntax, diag: "invalid base DN"}, false
	}
	f, err := compileFilter(msg.Filter)
	if err != nil {
		return searchQuery{}, searchResult{code: gldap.ResultProtocolError, diag: "invalid filter"}, false
	}
	q := searchQuery{connID: connID, msg: msg, base: base, filter: f,
		key: fmt.Sprintf("%s\x00%d\x00%s", dnKey(base), msg.Scope, msg.Filter)}
	for _, c := range msg.Controls {
		if p, ok := c.(*gldap.ControlPaging); ok {
			q.paging = p
		}
	}
	return q, searchResult{}, true
}

// locate sets where q starts: a paging cookie continues its own search on
// the snapshot that search began on (the cookie is used up); any other
// search begins at the top of the current directory, if its base exists.
func (s *Server) locate(q *searchQuery) (searchResult, bool) {
	if q.paging != nil && len(q.paging.Cookie) > 0 {
		cur := s.takeCursor(string(q.paging.Cookie), q.connID)
		if cur == nil {
			return searchResult{code: gldap.ResultUnwillingToPerform, diag: "unknown or expired paging cookie"}, false
		}
		if cur.search != q.key {
			return searchResult{code: gldap.ResultUnwillingToPerform, diag: "paging cookie belongs to a different search"}, false
		}
		q.snap, q.start = cur.snap, cur.next
		return searchResult{}, true
	}
	q.snap = s.dir.Load()
	_, exists := q.snap.byDN[dnKey(q.base)]
	if !exists && !slices.Equal(q.base, s.baseDN) && !(len(q.base) == 0 && q.msg.Scope != scopeBase) {
		return searchResult{code: gldap.ResultNoSuchObject, diag: "no such base DN"}, false
	}
	if q.paging != nil && s.cursorCount(q.connID) >= maxCursorsPerConn {
		return searchResult{code: gldap.ResultAdminLimitExceeded, diag: "too many unfinished paged searches on this connection"}, false
	}
	return searchResult{}, true
}

// sendPage sends q's matching records from where it starts, up to the page
// size or size limit; a full page saves a cursor and answers its cookie.
func (s *Server) sendPage(q *searchQuery, send func(*record) error) searchResult {
	limit := 0
	switch {
	case q.paging != nil:
		limit = int(q.paging.PagingSize)
	case q.msg.SizeLimit > 0:
		limit = int(q.msg.SizeLimit)
	}
	sent := 0
	for i := q.start; i < len(q.snap.records); i++ {
		rec := q.snap.records[i]
		if !inScope(rec.rdns, q.base, int64(q.msg.Scope)) {
			continue
		}
		ok, err := q.filter.match(rec)
		if err != nil {
			return searchResult{code: gldap.ResultProtocolError, diag: "invalid filter"}
		}
		if !ok {
			continue
		}
		if limit > 0 && sent == limit {
			if q.paging == nil {
				return searchResult{code: gldap.ResultSizeLimitExceeded}
			}
			cookie, err := s.saveCursor(&pageCursor{connID: q.connID, search: q.key, snap: q.snap, next: i})
			if err != nil {
				s.log.Error("ldap server: paging cookie", "err", err)
				return searchResult{code: gldap.ResultOther, diag: "cannot create paging cookie"}
			}
			return searchResult{code: gldap.ResultSuccess, paging: &gldap.ControlPaging{Cookie: []byte(cookie)}}
		}
		if err := send(rec); err != nil {
			s.log.Debug("ldap server: send entry", "conn", q.connID, "err", err)
			return searchResult{aborted: true}
		}
		sent++
	}
	if q.paging != nil {
		return searchResult{code: gldap.ResultSuccess, paging: &gldap.ControlPaging{}}
	}
	return searchResult{code: gldap.ResultSuccess}
}

func (s *Server) takeCursor(cookie string, connID int) *pageCursor {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cursors[cookie]
	if c == nil || c.connID != connID {
		return nil // cookies are valid only on the connection that got them
	}
	delete(s.cursors, cookie)
	return c
}

func (s *Server) saveCursor(c *pageCursor) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("ldapserver: random cookie: %w", err)
	}
	cookie := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursors[cookie] = c
	return cookie, nil
}

func (s *Server) cursorCount(connID int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.cursors {
		if c.connID == connID {
			n++
		}
	}
	return n
}

// selectAttributes applies the requested attribute list (RFC 4511 4.5.1.8):
// none or "*" means all user attributes, "+" all operational ones, "1.1"
// none, and any other name that attribute.
func selectAttributes(rec *record, requested []string) []attribute {
	all, ops := len(requested) == 0, false
	named := map[string]bool{}
	for _, a := range requested {
		switch a {
		case "*":
			all = true
		case "+":
			ops = true
		case "1.1":
		default:
			named[strings.ToLower(a)] = true
		}
	}
	out := make([]attribute, 0, len(rec.names))
	for _, key := range rec.names {
		isOp := isOperational(key)
		if named[key] || (all && !isOp) || (ops && isOp) {
			out = append(out, rec.attrs[key])
		}
	}
	return out
}

func refuse(appCode int) gldap.HandlerFunc {
	return func(w *gldap.ResponseWriter, r *gldap.Request) {
		_ = w.Write(r.NewResponse(
			gldap.WithApplicationCode(appCode),
			gldap.WithResponseCode(gldap.ResultUnwillingToPerform),
			gldap.WithDiagnosticMessage("the demo directory is read-only"),
			gldap.WithMatchedDN(""),
		))
	}
}

func (s *Server) write(w *gldap.ResponseWriter, resp gldap.Response) {
	if err := w.Write(resp); err != nil {
		s.log.Debug("ldap server: write response", "err", err)
	}
}

// logSink receives gldap's log lines: it reports the listening address and
// passes warnings and errors on to slog.
type logSink struct {
	log       *slog.Logger
	listening chan net.Addr
}

func (l *logSink) Accept(_ string, level hclog.Level, msg string, args ...any) {
	if msg == "listening" {
		for i := 0; i+1 < len(args); i += 2 {
			if addr, ok := args[i+1].(net.Addr); ok && args[i] == "addr" {
				select {
				case l.listening <- addr:
				default:
				}
			}
		}
		return
	}
	switch {
	case level >= hclog.Error:
		l.log.Error("ldap server: "+msg, args...)
	case level == hclog.Warn:
		l.log.Warn("ldap server: "+msg, args...)
	}
}
