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
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	baseDN, err := normalizeDN(cfg.BaseDN)
	if err != nil {
		return nil, fmt.Errorf("ldapserver: start: base DN: %w", err)
	}
	bindDN, err := normalizeDN(cfg.BindDN)
	if err != nil || len(bindDN) == 0 || cfg.BindPassword == "" {
		return nil, fmt.Errorf("ldapserver: start: a bind DN and a bind password are required")
	}
	snap, err := newSnapshot(cfg.Entries)
	if err != nil {
		return nil, fmt.Errorf("ldapserver: start: %w", err)
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

	// gldap picks the port inside Run and only tells its logger which one:
	// a sink on an intercept logger catches that line and forwards the
	// library's warnings and errors to slog.
	sink := &logSink{log: logger, listening: make(chan net.Addr, 1)}
	hl := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "ldapserver", Level: hclog.Off, Output: io.Discard})
	hl.RegisterSink(sink)
	s.gs, err = gldap.NewServer(gldap.WithLogger(hl), gldap.WithOnClose(s.connClosed))
	if err != nil {
		return nil, fmt.Errorf("ldapserver: start: %w", err)
	}
	mux, err := gldap.NewMux()
	if err != nil {
		return nil, fmt.Errorf("ldapserver: start: %w", err)
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
			return nil, fmt.Errorf("ldapserver: start: route: %w", reg)
		}
	}
	if err := s.gs.Router(mux); err != nil {
		return nil, fmt.Errorf("ldapserver: start: %w", err)
	}

	go func() { s.runErr <- s.gs.Run(cfg.Addr) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case s.addr = <-sink.listening:
	case err := <-s.runErr:
		if err == nil {
			err = errors.New("server stopped")
		}
		return nil, fmt.Errorf("ldapserver: start on %s: %w", cfg.Addr, err)
	case <-ctx.Done():
		_ = s.gs.Stop()
		return nil, fmt.Errorf("ldapserver: start: %w", ctx.Err())
	case <-timer.C:
		_ = s.gs.Stop()
		return nil, fmt.Errorf("ldapserver: start on %s: not listening after %s", cfg.Addr, startTimeout)
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
	s.log.Info("ldap server listening", "url", s.URL(), "entries", len(snap.records))
	return s, nil
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
	s.mu.Lock()
	bound := s.bound[connID]
	s.mu.Unlock()
	if !bound {
		return searchResult{code: gldap.ResultInsufficientAccessRights, diag: "bind first: anonymous search is not allowed"}
	}
	base, err := normalizeDN(msg.BaseDN)
	if err != nil {
		return searchResult{code: gldap.ResultInvalidDNSyntax, diag: "invalid base DN"}
	}
	f, err := compileFilter(msg.Filter)
	if err != nil {
		return searchResult{code: gldap.ResultProtocolError, diag: "invalid filter"}
	}
	var paging *gldap.ControlPaging
	for _, c := range msg.Controls {
		if p, ok := c.(*gldap.ControlPaging); ok {
			paging = p
		}
	}
	searchKey := fmt.Sprintf("%s\x00%d\x00%s", dnKey(base), msg.Scope, msg.Filter)

	var snap *snapshot
	start := 0
	switch {
	case paging != nil && len(paging.Cookie) > 0:
		cur := s.takeCursor(string(paging.Cookie), connID)
		if cur == nil {
			return searchResult{code: gldap.ResultUnwillingToPerform, diag: "unknown or expired paging cookie"}
		}
		if cur.search != searchKey {
			return searchResult{code: gldap.ResultUnwillingToPerform, diag: "paging cookie belongs to a different search"}
		}
		snap, start = cur.snap, cur.next
	default:
		snap = s.dir.Load()
		_, exists := snap.byDN[dnKey(base)]
		if !exists && !slices.Equal(base, s.baseDN) && !(len(base) == 0 && msg.Scope != scopeBase) {
			return searchResult{code: gldap.ResultNoSuchObject, diag: "no such base DN"}
		}
		if paging != nil && s.cursorCount(connID) >= maxCursorsPerConn {
			return searchResult{code: gldap.ResultAdminLimitExceeded, diag: "too many unfinished paged searches on this connection"}
		}
	}
	if paging != nil && paging.PagingSize == 0 {
		// Size zero abandons the paged search (RFC 2696 section 3); the
		// cursor was already dropped above.
		return searchResult{code: gldap.ResultSuccess, paging: &gldap.ControlPaging{}}
	}

	limit := 0
	switch {
	case paging != nil:
		limit = int(paging.PagingSize)
	case msg.SizeLimit > 0:
		limit = int(msg.SizeLimit)
	}
	sent := 0
	for i := start; i < len(snap.records); i++ {
		rec := snap.records[i]
		if !inScope(rec.rdns, base, int64(msg.Scope)) {
			continue
		}
		ok, err := f.match(rec)
		if err != nil {
			return searchResult{code: gldap.ResultProtocolError, diag: "invalid filter"}
		}
		if !ok {
			continue
		}
		if limit > 0 && sent == limit {
			if paging == nil {
				return searchResult{code: gldap.ResultSizeLimitExceeded}
			}
			cookie, err := s.saveCursor(&pageCursor{connID: connID, search: searchKey, snap: snap, next: i})
			if err != nil {
				s.log.Error("ldap server: paging cookie", "err", err)
				return searchResult{code: gldap.ResultOther, diag: "cannot create paging cookie"}
			}
			return searchResult{code: gldap.ResultSuccess, paging: &gldap.ControlPaging{Cookie: []byte(cookie)}}
		}
		if err := send(rec); err != nil {
			s.log.Debug("ldap server: send entry", "conn", connID, "err", err)
			return searchResult{aborted: true}
		}
		sent++
	}
	if paging != nil {
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
