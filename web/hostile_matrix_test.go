package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/testenv"
	"idm/web"
)

// The hostile input matrix: every field of every form, htmx control and
// link that a page shows (read from the pages' HTML, see page_controls),
// and every parameter in a route's path, spoiled with each hostile kind,
// on both databases. Each request is refused with a 4xx and a message and
// writes nothing, or is accepted with the value harmless: shown escaped,
// never stored when no row may hold it, and, in a search or filter,
// matching nothing more than text that matches nothing.

// hostileKind is one kind of hostile value.
type hostileKind struct {
	name, value string
	// marker, when set, is what no stored row may contain (a value no
	// column can hold): a write that carries it saved bad input.
	marker string
	// wildcard: a search or filter given it finds no more than one given
	// text that matches nothing.
	wildcard bool
	// plausible: a value that names and numbers rightly take (an account
	// may be called 4611686018427387904): it must never reach a 500, but
	// may be accepted anywhere.
	plausible bool
}

// markupScript and markupImage are the markup payload's two parts; a page
// that shows either as such did not escape it.
const (
	markupScript = `<script>alert(1)</script>`
	markupImage  = `<img src=x onerror=alert(2)>`
)

var hostileKinds = []hostileKind{
	{name: "Overlong", value: strings.Repeat("a", 70000), marker: strings.Repeat("a", 300)},
	{name: "NUL", value: "a\x00b", marker: "\x00"},
	{name: "InvalidUTF8", value: "a\xffb", marker: "\xff"},
	{name: "Markup", value: markupScript + `"'>` + markupImage},
	{name: "LDAPMetacharacters", value: `*)(|(objectClass=*))\00`, wildcard: true},
	{name: "SQLMetacharacters", value: `' OR '1'='1' --; DROP TABLE users; \`, wildcard: true},
	{name: "LDAPWildcard", value: "*", wildcard: true},
	{name: "SQLWildcard", value: "%", wildcard: true},
	// 2^62: beyond int32, and times any page size it wraps to below zero.
	{name: "HugeNumber", value: "4611686018427387904", plausible: true},
}

// matchesNothing is the text a wildcard's result is held against.
const matchesNothing = "zq-matches-nothing"

// controlFills are the values a person types into fields a page leaves
// empty, so that the form as sent is accepted and a spoiled field is the
// only thing wrong. A new form whose baseline is refused needs its own.
// "{n}" becomes a number of its own each time (names that must be unique).
var controlFills = map[string]url.Values{
	"/login":                   {"username": {testAdmin}, "password": {testPassword}},
	"/admin/accounts":          {"name": {"carl{n}"}, "password": {testPassword}, "password2": {testPassword}},
	"/admin/accounts/password": {"name": {"bob"}, "password": {testPassword}, "password2": {testPassword}},
	"/admin/notifications": {"name": {"On call"}, "url": {"http://127.0.0.1:1/idm"}, "secret": {"a long enough signing secret"},
		"event": {domain.EventRunFailed}},
	"/admin/tokens": {"name": {"ci-deploy-{n}"}},
	// The password typed again, so that a changed server or bind DN is
	// checked for itself (without it, it is refused for the password).
	"/admin/ldap":      {"bind_password": {testBindPassword}},
	"/admin/ldap/test": {"bind_password": {testBindPassword}},
}

// refusalWrites are the tables a refused request may still write: a
// session's last use, and the sign-in throttle's counters.
var refusalWrites = []string{"sessions", "login_failures"}

func TestHostileInput(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		h := newHostileRun(t, dbURL)
		for _, fc := range h.crawl(t) {
			t.Run(fc.as.name+" "+fc.method+" "+fc.action, func(t *testing.T) { h.spoilControl(t, fc) })
		}
		t.Run("PathParameters", h.spoilPathParameters)
		t.Run("EveryPageEscaped", h.everyPageEscaped)
		t.Logf("%d controls, %d fields × %d kinds, %d path parameters × %d kinds: %d refused; accepted: %d by checks, %d by refills, %d ignored, %d free text, %d dropped, %d plausible, %d not designed",
			h.controls, h.fields, len(hostileKinds), h.params, len(hostileKinds), h.refused, h.accepted[acceptCheck], h.accepted[acceptRefill],
			h.accepted[acceptIgnored], h.accepted[acceptFreeText], h.accepted[acceptDropped], h.accepted[acceptPlausible], h.accepted[acceptNot])
	})
}

// hostileRun is the matrix on one database.
type hostileRun struct {
	e      *testEnv
	rt     *routeTable
	clock  *authClock
	routes []web.Route

	// bases are the controls' values as last read from their pages.
	bases map[string]url.Values
	// counts for the log, and the last sending address.
	controls, fields, params, refused, addr, fills int
	accepted                                       map[acceptance]int
}

// foundControl is a control, the route pattern it is sent to, and whom
// the page showed it to.
type foundControl struct {
	control
	pattern string
	as      role
}

var (
	signedOut = role{"anonymous", ""}
	signedIn  = role{testAdmin, domain.RoleAdministrator}
)

func newHostileRun(t *testing.T, dbURL string) *hostileRun {
	clock := &authClock{}
	e := newEnv(t, envOptions{dbURL: dbURL, statements: true, authNow: clock.now})
	h := &hostileRun{e: e, rt: newRouteTable(t, e), clock: clock, bases: map[string]url.Values{}, accepted: map[acceptance]int{}}
	e.configureLDAP(t, "ldap://127.0.0.1:1", "cn=admin,"+testenv.SlapdBaseDN, testBindPassword)
	h.seedPagers(t)
	var err error
	if h.routes, err = web.Routes(e.h); err != nil {
		t.Fatal(err)
	}
	return h
}

// seedPagers stores one more user, run and audit event than a page shows,
// so that every pager link (and its parameter) appears.
func (h *hostileRun) seedPagers(t *testing.T) {
	ctx := context.Background()
	for i := range 26 {
		h.e.importedUser(t, fmt.Sprintf("user%02d", i))
	}
	for range 21 {
		h.e.finishedRun(t, domain.JobActive, domain.RunFailed)
	}
	for i := range 51 {
		ev := domain.AuditEvent{At: time.Now().UTC(), Actor: "test", Action: domain.AuditCacheClear, Detail: fmt.Sprintf("event %d", i)}
		if err := h.e.db.AddAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
}

// pages are the pages (GET routes of the site, not the API) and whom to
// read them as: public pages as someone signed out and signed in, the
// others as an administrator, who sees every page.
func (h *hostileRun) pages(t *testing.T) (paths []string, as []role) {
	for _, r := range h.routes {
		rule, err := classify(r.Pattern)
		if err != nil || r.Method != http.MethodGet || rule.api {
			continue
		}
		path, err := h.rt.samplePath(r.Pattern, rule)
		if err != nil {
			t.Fatal(err)
		}
		if rule.access == accessPublic {
			paths, as = append(paths, path), append(as, signedOut)
		}
		paths, as = append(paths, path), append(as, signedIn)
	}
	return paths, as
}

// crawl reads every page and returns each distinct control that has fields.
func (h *hostileRun) crawl(t *testing.T) []foundControl {
	paths, as := h.pages(t)
	seen := map[string]bool{}
	var found []foundControl
	for i, path := range paths {
		res := h.send(t, as[i], http.MethodGet, path, nil, false)
		if res.Code != http.StatusOK || !strings.HasPrefix(res.Header().Get("Content-Type"), "text/html") {
			continue
		}
		for _, c := range pageControls(path, parseHTML(t, res)) {
			if k := as[i].name + " " + c.key(); len(c.fields) > 0 && !seen[k] {
				seen[k] = true
				found = append(found, foundControl{c, h.patternOf(c.action), as[i]})
			}
		}
	}
	if len(found) == 0 {
		t.Fatal("no page shows a form")
	}
	return found
}

// patternOf is the route pattern that serves path.
func (h *hostileRun) patternOf(path string) string {
	segs := strings.Split(path, "/")
	for _, r := range h.routes {
		ps := strings.Split(r.Pattern, "/")
		if len(ps) == len(segs) && !slices.ContainsFunc(ps, func(p string) bool { return p == "*" }) &&
			equalSegments(ps, segs) {
			return r.Pattern
		}
	}
	return path
}

func equalSegments(pattern, path []string) bool {
	for i, p := range pattern {
		if p != path[i] && !strings.HasPrefix(p, "{") {
			return false
		}
	}
	return true
}

// spoilControl sends fc with each field spoiled by each kind, then as the
// page fills it, which must be accepted (else the spoiled fields were not
// the only thing wrong).
func (h *hostileRun) spoilControl(t *testing.T, fc foundControl) {
	h.controls++
	h.fields += len(fc.fields)
	for _, field := range fc.fields {
		for _, k := range hostileKinds {
			t.Run(field+"/"+k.name, func(t *testing.T) {
				values := h.current(t, fc)
				values.Set(field, k.value)
				h.judgeControl(t, fc, values, field, k)
			})
		}
	}
	t.Run("AsFilled", func(t *testing.T) {
		res := h.sendControl(t, fc, h.current(t, fc))
		if res.Code == http.StatusTooManyRequests {
			h.clock.advance(auth.Block) // the spoiled sign-ins locked the account
			res = h.sendControl(t, fc, h.current(t, fc))
		}
		if res.Code >= 400 {
			t.Fatalf("the control as the page fills it (with controlFills) is refused, %d: %s", res.Code, messages(t, res))
		}
		h.waitIdle(t)
	})
}

// current is what fc sends as filled now, completed from controlFills. An
// accepted change (a new version) makes every page read again.
func (h *hostileRun) current(t *testing.T, fc foundControl) url.Values {
	k := fc.as.name + " " + fc.key()
	base, ok := h.bases[k]
	if !ok {
		base = fc.base
		res := h.send(t, fc.as, http.MethodGet, fc.page, nil, false)
		for _, c := range pageControls(fc.page, parseHTML(t, res)) {
			if c.key() == fc.key() {
				base = c.base
			}
		}
		h.bases[k] = base
	}
	values := cloneValues(base)
	h.fills++
	unique := strings.NewReplacer("{n}", strconv.Itoa(h.fills))
	for k, vs := range controlFills[fc.action] {
		if values.Get(k) == "" {
			values[k] = nil
			for _, v := range vs {
				values.Add(k, unique.Replace(v))
			}
		}
	}
	return values
}

// judgeControl sends fc with values (field spoiled with k) and judges the
// answer: a refusal, or one of the designed ways to accept.
func (h *hostileRun) judgeControl(t *testing.T, fc foundControl, values url.Values, field string, k hostileKind) {
	before := h.e.statements.Len()
	res := h.sendControl(t, fc, values)
	writes := writesIn(h.e.statements.Since(before))
	h.judgeAnswer(t, res)
	if res.Code >= 400 {
		h.judgeRefusal(t, res, writes)
		return
	}
	how := acceptedAs(fc.pattern, field, k)
	h.accepted[how]++
	if changed := slices.ContainsFunc(writes, func(w string) bool { return writtenTable(w) != "sessions" }); changed {
		clear(h.bases) // the pages may show something else now (a new version)
		h.waitIdle(t)
	}
	switch how {
	case acceptCheck, acceptRefill, acceptIgnored:
		assertWritesOnly(t, writes, "sessions")
		if how == acceptCheck && !hasMessage(t, res) {
			t.Errorf("the check answers %d without saying what is wrong with %s", res.Code, field)
		}
	case acceptFreeText, acceptDropped, acceptPlausible:
		if fc.method == http.MethodGet {
			assertWritesOnly(t, writes, "sessions")
			h.judgeWildcard(t, fc, values, field, k, res)
			return
		}
		for _, w := range writes {
			if k.marker != "" && strings.Contains(w, k.marker) {
				t.Errorf("%s saved: %.200q", k.name, w)
			}
		}
		if page := h.send(t, fc.as, http.MethodGet, fc.page, nil, false); page.Code == http.StatusOK {
			h.judgeAnswer(t, page)
		}
	default:
		t.Errorf("%s in %s accepted (%d), want a 4xx with a message", k.name, field, res.Code)
	}
}

// judgeWildcard: a search or filter given a wildcard finds no more rows
// than text that matches nothing.
func (h *hostileRun) judgeWildcard(t *testing.T, fc foundControl, values url.Values, field string, k hostileKind, res *httptest.ResponseRecorder) {
	if !k.wildcard {
		return
	}
	probe := cloneValues(values)
	probe.Set(field, matchesNothing)
	if got, want := resultRows(t, res), resultRows(t, h.sendControl(t, fc, probe)); got > want {
		t.Errorf("%q in %s finds %d rows, %q finds %d: the value is read as a pattern", k.value, field, got, matchesNothing, want)
	}
}

// acceptance is a designed way for a control to accept a hostile value.
type acceptance int

const (
	acceptNot acceptance = iota
	// acceptCheck: the control checks what was typed and answers 200 with
	// what is wrong, saving nothing.
	acceptCheck
	// acceptRefill: the control fills the form in again, unsaved and
	// without messages (Save checks every field).
	acceptRefill
	// acceptFreeText: the field takes any text, markup and metacharacters
	// too (stored as typed or only compared, shown escaped if shown); never
	// a value no column can hold.
	acceptFreeText
	// acceptDropped: a value that cannot be used is left out (the page to
	// return to after sign-in: home instead).
	acceptDropped
	// acceptIgnored: the control does not read the field (the browser
	// sends the whole form to a check of one field).
	acceptIgnored
	// acceptPlausible: the value may be right (hostileKind.plausible).
	acceptPlausible
)

// The designed exceptions to "a hostile value gets a 4xx": by route pattern,
// and by pattern and field.
var (
	checkControls  = []string{"/admin/batch-sync/{key}/check", "/admin/ldap/test"}
	refillControls = []string{"/admin/ldap/preset"}
	freeTextFields = []string{
		"/admin/ldap bind_password", "/admin/accounts password", "/admin/accounts password2",
		"/admin/accounts/password password", "/admin/accounts/password password2", "/operator/users q", "/operator/runs/{id} q",
		"/admin/ldap/test bind_password", "/admin/notifications name", "/admin/notifications secret",
		// A bind name is whatever the directory takes: a DN, or in Active
		// Directory user@domain or DOMAIN\user. It is sent in a bind, never
		// in a filter, and shown escaped.
		"/admin/ldap bind_dn", "/admin/ldap/test bind_dn",
		"/admin/notifications/{id} name", "/admin/notifications/{id} secret",
	}
	droppedFields = []string{"/login next"}
	ignoredFields = []string{"/admin/batch-sync/{key}/check version", "/admin/batch-sync/{key}/check enabled"}
)

func acceptedAs(pattern, field string, k hostileKind) acceptance {
	switch f := pattern + " " + field; {
	case k.plausible:
		return acceptPlausible
	case slices.Contains(ignoredFields, f):
		return acceptIgnored
	case slices.Contains(droppedFields, f):
		return acceptDropped
	case k.marker == "" && slices.Contains(freeTextFields, f):
		return acceptFreeText
	case slices.Contains(checkControls, pattern):
		return acceptCheck
	case slices.Contains(refillControls, pattern):
		return acceptRefill
	}
	return acceptNot
}

// judgeAnswer: never a 500, no markup shown as markup, redirects to our
// own pages only.
func (h *hostileRun) judgeAnswer(t *testing.T, res *httptest.ResponseRecorder) {
	t.Helper()
	body := res.Body.String()
	if res.Code >= 500 {
		t.Fatalf("status %d: %.400s", res.Code, body)
	}
	if ct := res.Header().Get("Content-Type"); strings.HasPrefix(ct, "text/csv") {
		// A download: markup in a cell is data, never rendered, as long as
		// no browser sniffs it into a page.
		if res.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(res.Header().Get("Content-Disposition"), "attachment;") {
			t.Errorf("a CSV answer without nosniff and attachment: %v", res.Header())
		}
	} else {
		for _, m := range []string{markupScript, markupImage} {
			if strings.Contains(body, m) {
				t.Errorf("the answer shows %s unescaped", m)
			}
		}
	}
	if loc := res.Header().Get("Location"); loc != "" {
		if _, ours := domain.SafeRedirectPath(loc); !ours && loc != "/login" && !strings.HasPrefix(loc, "/login?") {
			t.Errorf("redirect to %q", loc)
		}
	}
}

// judgeRefusal: a 4xx says why and writes nothing.
func (h *hostileRun) judgeRefusal(t *testing.T, res *httptest.ResponseRecorder, writes []string) {
	t.Helper()
	h.refused++
	if !hasMessage(t, res) {
		t.Errorf("status %d without a message: %.400s", res.Code, res.Body)
	}
	assertWritesOnly(t, writes, refusalWrites...)
}

// hasMessage says whether a refusal says why: a message on the page (at a
// field, or the page's), or a plain-text answer that is not empty.
func hasMessage(t *testing.T, res *httptest.ResponseRecorder) bool {
	if !strings.HasPrefix(res.Header().Get("Content-Type"), "text/html") {
		return strings.TrimSpace(res.Body.String()) != ""
	}
	msg := parseHTML(t, res).Find(`[data-testid^="error-"], [role="alert"]`).Text()
	return strings.TrimSpace(msg) != ""
}

// messages are the messages a page shows, for a failure's report.
func messages(t *testing.T, res *httptest.ResponseRecorder) string {
	if !strings.HasPrefix(res.Header().Get("Content-Type"), "text/html") {
		return res.Body.String()
	}
	var msgs []string
	parseHTML(t, res).Find(`[data-testid^="error-"], [role="alert"]`).Each(func(_ int, s *goquery.Selection) {
		msgs = append(msgs, strings.Join(strings.Fields(s.Text()), " "))
	})
	return strings.Join(msgs, "; ")
}

// resultRows counts the rows of the tables a page lists.
func resultRows(t *testing.T, res *httptest.ResponseRecorder) int {
	if res.Code != http.StatusOK {
		return 0
	}
	return parseHTML(t, res).Find("tbody tr").Length()
}

// spoilPathParameters puts each hostile kind into each parameter of each
// route's path (the rest naming stored records): 4xx with a message,
// nothing written.
func (h *hostileRun) spoilPathParameters(t *testing.T) {
	for _, r := range h.routes {
		rule, err := classify(r.Pattern)
		if err != nil || rule.api || !strings.ContainsAny(r.Pattern, "{*") {
			continue
		}
		sample, err := h.rt.samplePath(r.Pattern, rule)
		if err != nil {
			t.Fatal(err)
		}
		for i, seg := range strings.Split(r.Pattern, "/") {
			if !strings.HasPrefix(seg, "{") && seg != "*" {
				continue
			}
			h.params++
			for _, k := range hostileKinds {
				t.Run(r.Method+" "+r.Pattern+"/"+seg+"/"+k.name, func(t *testing.T) {
					path := replaceSegment(sample, i, seg == "*", url.PathEscape(k.value))
					before := h.e.statements.Len()
					res := h.send(t, signedIn, r.Method, path, url.Values{}, false)
					h.judgeAnswer(t, res)
					if res.Code < 400 && k.plausible {
						return // it names a stored record
					}
					if res.Code < 400 {
						t.Fatalf("status %d, want 4xx: %.300s", res.Code, res.Body)
					}
					h.judgeRefusal(t, res, writesIn(h.e.statements.Since(before)))
				})
			}
		}
	}
}

// replaceSegment is path with its segment i (and, for a wildcard, all
// after it) replaced by v.
func replaceSegment(path string, i int, rest bool, v string) string {
	segs := strings.Split(path, "/")
	segs[i] = v
	if rest {
		segs = segs[:i+1]
	}
	return strings.Join(segs, "/")
}

// everyPageEscaped reads every page again after the matrix: whatever was
// accepted and stored is shown escaped.
func (h *hostileRun) everyPageEscaped(t *testing.T) {
	paths, as := h.pages(t)
	for i, path := range paths {
		res := h.send(t, as[i], http.MethodGet, path, nil, false)
		h.judgeAnswer(t, res)
	}
}

func (h *hostileRun) sendControl(t *testing.T, fc foundControl, values url.Values) *httptest.ResponseRecorder {
	return h.send(t, fc.as, fc.method, fc.action, values, fc.htmx)
}

// send sends one request as ro, from an address of its own (so that the
// sign-in throttle counts per request); a POST is a same-origin form post.
func (h *hostileRun) send(t *testing.T, ro role, method, path string, values url.Values, htmx bool) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		if len(values) > 0 {
			path += "?" + values.Encode()
		}
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptestPost(path, values)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	if c := h.rt.session(t, ro); c != nil {
		req.AddCookie(c)
	}
	h.addr++
	req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", h.addr>>16&255, h.addr>>8&255, h.addr&255)
	return serve(h.e.h, req)
}

func (h *hostileRun) waitIdle(t *testing.T) { h.rt.waitIdle(t) }

// writesIn are the statements of sqls that change a table.
func writesIn(sqls []string) []string {
	var ws []string
	for _, s := range sqls {
		if isWrite(s) {
			ws = append(ws, s)
		}
	}
	return ws
}

// assertWritesOnly fails for a write to a table other than tables.
func assertWritesOnly(t *testing.T, writes []string, tables ...string) {
	t.Helper()
	for _, w := range writes {
		if !slices.Contains(tables, writtenTable(w)) {
			t.Errorf("wrote: %.200q", w)
		}
	}
}

// writtenTable is the table a write statement changes.
func writtenTable(sql string) string {
	f := strings.Fields(sql)
	for i, w := range f {
		switch strings.ToUpper(w) {
		case "INTO", "UPDATE", "FROM":
			if i+1 < len(f) {
				return strings.Trim(f[i+1], "\"`'")
			}
		}
	}
	return ""
}

// authClock is the sign-in service's clock, which the test moves on to let
// a throttle's lock end.
type authClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *authClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.offset)
}

func (c *authClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
