package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/crypto/bcrypt"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/notify"
	"idm/internal/opcache"
	"idm/internal/scheduler"
	"idm/internal/secret"
	"idm/internal/store"
	"idm/internal/testenv"
	"idm/web"
)

// The package's one test harness, testEnv, wires web.Deps as serve does: a
// real store, sign-in service, secret box, engine, scheduler and Operator
// cache, and a recorder of the cluster announcements.

const (
	testAdmin    = "alice"
	testPassword = "correct horse battery"
	testTimeZone = "Europe/Stockholm"
	// testPublicURL is the base of the links in notices.
	testPublicURL = "https://idm.example.test"
	// webhookTimeout bounds a test notice's post.
	webhookTimeout = 2 * time.Second
)

// testPasswordHash is testPassword's bcrypt hash at the cheapest cost,
// computed once per test binary: the default cost takes over a second with
// -race, and password hashing is tested in internal/auth.
var testPasswordHash = sync.OnceValues(func() ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
})

// account is one account the harness creates, with testPassword.
type account struct {
	name string
	role domain.AccountRole
}

// opAccounts are the Operator tests' accounts: an operator and an
// administrator.
var opAccounts = []account{{"olga", domain.RoleOperator}, {"adam", domain.RoleAdministrator}}

type envOptions struct {
	// dbURL is the database; a fresh SQLite one when "".
	dbURL string
	// accounts are created first; the administrator testAdmin alone when
	// nil. When testAdmin is among them, do and get act as testAdmin.
	accounts []account
	// now is the pages' clock; the wall clock when nil.
	now func() time.Time
	// authNow is the sign-in service's clock (sessions, throttle); the
	// database's when nil.
	authNow func() time.Time
	// dial is how the engine reaches the directory; the real one when nil.
	dial engine.Dialer
	// scheduledRuns makes the scheduler run the engine, as serve does; by
	// default it only records what it fires (recordingRunner), so that a
	// page test never runs a job by the clock.
	scheduledRuns bool
	// statements records every SQL statement of the store from the start.
	statements bool
	// logs, when set, receives every log line, debug ones included.
	logs io.Writer
}

// testEnv is the web handler over everything serve wires, served both
// through httptest.NewServer (for clients with cookies) and directly (do).
type testEnv struct {
	t          *testing.T
	db         *store.DB
	box        *secret.Box
	loc        *time.Location
	eng        *engine.Engine
	sched      *scheduler.Scheduler
	cache      *opcache.Cache
	notifier   *notify.Worker
	runner     *recordingRunner
	notified   *topics
	statements *testenv.StatementLog
	h          http.Handler
	srv        *httptest.Server
	cookie     *http.Cookie // testAdmin's session, for do and get
}

func newEnv(t *testing.T, o envOptions) *testEnv {
	t.Helper()
	if o.dbURL == "" {
		o.dbURL = testenv.SQLiteURL(t)
	}
	if o.accounts == nil {
		o.accounts = []account{{testAdmin, domain.RoleAdministrator}}
	}
	if o.dial == nil {
		o.dial = engine.DialDirectory
	}
	e := &testEnv{t: t, db: testenv.MustOpenDB(t, o.dbURL), box: testenv.SecretBox(t), runner: &recordingRunner{}, notified: &topics{}}
	if o.statements {
		e.statements = testenv.LogStatements(e.db)
	}
	e.createAccounts(o.accounts)
	var err error
	if e.loc, err = time.LoadLocation(testTimeZone); err != nil {
		t.Fatal(err)
	}
	// Warnings and errors only: the pages and the scheduler log every
	// request and save at Info.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if o.logs != nil {
		log = slog.New(slog.NewTextHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.eng = engine.New(engine.Deps{DB: e.db, Dial: o.dial, OpenSecret: e.box.Open, Instance: "web-test", Now: e.db.Now, Logger: log})
	t.Cleanup(func() {
		if err := e.eng.Shutdown(context.Background()); err != nil {
			t.Errorf("engine shutdown: %v", err)
		}
	})
	e.startScheduler(o.scheduledRuns, log)
	e.cache = opcache.New(e.db, e.loc, e.db.Now)
	e.notifier, err = notify.New(notify.Options{
		Store: e.db, OpenSecret: e.box.Open, PublicURL: testPublicURL, Instance: "web-test", Logger: log, Timeout: webhookTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.authNow == nil {
		o.authNow = e.db.Now
	}
	e.h, err = web.New(web.Deps{
		Store: e.db, Auth: auth.New(e.db, o.authNow, time.Hour, 8*time.Hour), Box: e.box, Tokens: auth.NewTokens(e.db, e.db.Now),
		Scheduler: e.sched, Engine: e.eng, Cache: e.cache, Webhooks: e.notifier, Notify: e.notified,
		Location: e.loc, Now: o.now, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	for _, a := range o.accounts {
		if a.name == testAdmin {
			e.cookie = e.signIn(t, testAdmin).session()
		}
	}
	return e
}

func (e *testEnv) createAccounts(accounts []account) {
	e.t.Helper()
	hash, err := testPasswordHash()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range accounts {
		if _, err := e.db.CreateAccount(context.Background(), a.name, a.role, string(hash), "test"); err != nil {
			e.t.Fatal(err)
		}
	}
}

// startScheduler starts the scheduler over the store, firing the engine or
// the recording runner; it stops before the engine shuts down.
func (e *testEnv) startScheduler(runEngine bool, log *slog.Logger) {
	e.t.Helper()
	var runner scheduler.Runner = e.runner
	if runEngine {
		runner = e.eng
	}
	var err error
	if e.sched, err = scheduler.New(e.db, runner, scheduler.Options{Location: e.loc, Logger: log}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.sched.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if err := e.sched.Stop(context.Background()); err != nil {
			e.t.Errorf("stop scheduler: %v", err)
		}
	})
}

// do sends a request as testAdmin straight to the handler; POSTs are
// same-origin form posts (htmx ones when htmx is set).
func (e *testEnv) do(method, path string, form url.Values, htmx bool) *httptest.ResponseRecorder {
	e.t.Helper()
	var req *http.Request
	if method == http.MethodPost {
		req = httptestPost(path, form)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	} else {
		if form != nil {
			path += "?" + form.Encode()
		}
		req = httptest.NewRequest(method, path, nil)
	}
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	if e.cookie != nil {
		req.AddCookie(e.cookie)
	}
	return serve(e.h, req)
}

// get is the page at path as testAdmin sees it; anything but 200 fails.
func (e *testEnv) get(path string) *goquery.Document {
	e.t.Helper()
	res := e.do(http.MethodGet, path, nil, false)
	if res.Code != http.StatusOK {
		e.t.Fatalf("GET %s: status %d: %s", path, res.Code, res.Body)
	}
	return parseHTML(e.t, res)
}

func (e *testEnv) job(key domain.JobKey) *domain.Job {
	e.t.Helper()
	j, err := e.db.GetJob(context.Background(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *testEnv) audit() []domain.AuditEvent {
	e.t.Helper()
	events, _, err := e.db.ListAudit(context.Background(), 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return events
}

// configureLDAP saves settings that make runs dial (the dialer decides
// what they reach), with the bind password sealed as the form seals it.
func (e *testEnv) configureLDAP(t *testing.T, ldapURL, bindDN, password string) {
	t.Helper()
	ctx := context.Background()
	s, err := e.db.LDAPSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := e.box.Seal(password)
	if err != nil {
		t.Fatal(err)
	}
	s.URL, s.BaseDN, s.BindDN, s.BindPasswordEnc = ldapURL, testenv.SlapdBaseDN, bindDN, sealed
	s.PageSize = 2
	s.DeactivateMaxUsers, s.DeactivateMaxPercent = 1000, 100
	if _, err := e.db.SaveLDAPSettings(ctx, s, "test"); err != nil {
		t.Fatal(err)
	}
}

// client is a browser-like client of the test server: it keeps cookies and
// does not follow redirects.
type client struct {
	*http.Client
	e *testEnv
}

func (e *testEnv) newClient(t *testing.T) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &client{e: e, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signIn returns a client signed in as name.
func (e *testEnv) signIn(t *testing.T, name string) *client {
	t.Helper()
	c := e.newClient(t)
	c.login(t, name)
	return c
}

// login signs c in as name with testPassword.
func (c *client) login(t *testing.T, name string) {
	t.Helper()
	res := c.post(t, "/login", url.Values{"username": {name}, "password": {testPassword}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d %s", name, res.StatusCode, readAll(t, res))
	}
}

// session is c's session cookie.
func (c *client) session() *http.Cookie {
	u, _ := url.Parse(c.e.srv.URL)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == "idm_session" {
			return k
		}
	}
	c.e.t.Fatal("no session cookie")
	return nil
}

// post sends a same-origin form post with header's fields added.
func (c *client) post(t *testing.T, path string, form url.Values, header http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func (c *client) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(c.e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return res, readAll(t, res)
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseHTML(t *testing.T, res *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(res.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func testid(doc *goquery.Document, id string) string {
	return strings.Join(strings.Fields(doc.Find(`[data-testid="`+id+`"]`).Text()), " ")
}

// recordingRunner stands in for the engine as what the scheduler fires: it
// records which jobs were fired.
type recordingRunner struct {
	mu   sync.Mutex
	runs []domain.JobKey
}

func (r *recordingRunner) RunScheduled(_ context.Context, key domain.JobKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, key)
	return nil
}

// topics records the cluster announcements the pages made.
type topics struct {
	mu   sync.Mutex
	sent []string
}

func (tp *topics) Notify(_ context.Context, topic string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.sent = append(tp.sent, topic)
}

func (tp *topics) list() []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]string(nil), tp.sent...)
}

func httptestPost(path string, form url.Values) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	res := httptest.NewRecorder()
	h.ServeHTTP(res, req)
	return res
}
