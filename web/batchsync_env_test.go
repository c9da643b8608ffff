package web_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
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
	"idm/internal/scheduler"
	"idm/internal/secret"
	"idm/internal/store"
	"idm/internal/testenv"
	"idm/web"
)

// adminEnv is the web handler on a fresh SQLite store, with a signed-in
// administrator, a real scheduler (whose runs are recorded, not executed)
// and a secret box.
type adminEnv struct {
	t        *testing.T
	db       *store.DB
	box      *secret.Box
	loc      *time.Location
	sched    *scheduler.Scheduler
	runner   *recordingRunner
	h        http.Handler
	cookie   *http.Cookie
	notified *topics
}

type adminEnvOptions struct {
	now func() time.Time // the pages' clock; the wall clock when nil
	// runner, when set, makes what the scheduler fires (the real engine in
	// the browser test); the recordingRunner otherwise.
	runner func(db *store.DB, box *secret.Box, log *slog.Logger) scheduler.Runner
	dbURL  string // the database; a fresh SQLite file when empty
}

const (
	testAdmin    = "alice"
	testAdminPW  = "correct horse battery"
	testTimeZone = "Europe/Stockholm"
)

func newAdminEnv(t *testing.T, o adminEnvOptions) *adminEnv {
	t.Helper()
	ctx := context.Background()
	if o.dbURL == "" {
		o.dbURL = testenv.SQLiteURL(t)
	}
	db, err := store.Open(ctx, o.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The cheapest bcrypt cost: the default one takes over a second with
	// -race, and password hashing is tested in internal/auth.
	hash, err := bcrypt.GenerateFromPassword([]byte(testAdminPW), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAccount(ctx, testAdmin, domain.RoleAdministrator, string(hash), "test"); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(testTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	e := &adminEnv{t: t, db: db, box: box, loc: loc, runner: &recordingRunner{}, notified: &topics{}}
	// Warnings and errors only: the pages and the scheduler log every
	// request and save at Info.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var runner scheduler.Runner = e.runner
	if o.runner != nil {
		runner = o.runner(db, box, log)
	}
	e.sched, err = scheduler.New(db, runner, scheduler.Options{Location: loc, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sched.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.sched.Stop(context.Background()); err != nil {
			t.Errorf("stop scheduler: %v", err)
		}
	})
	e.h = web.New(web.Deps{
		Store: db, Auth: auth.New(db, db.Now, time.Hour, 8*time.Hour), Box: box, Location: loc,
		Now: o.now, Logger: log, Scheduler: e.sched, Notify: e.notified.add,
	})
	e.login()
	return e
}

func (e *adminEnv) login() {
	e.t.Helper()
	res := e.do(http.MethodPost, "/login", url.Values{"username": {testAdmin}, "password": {testAdminPW}}, false)
	if res.Code != http.StatusSeeOther {
		e.t.Fatalf("login: status %d: %s", res.Code, res.Body)
	}
	for _, c := range res.Result().Cookies() {
		if c.Name == "idm_session" {
			e.cookie = c
		}
	}
	if e.cookie == nil {
		e.t.Fatal("login: no session cookie")
	}
}

// do sends a request as the signed-in administrator; POSTs are same-origin
// form posts (htmx ones when htmx is set).
func (e *adminEnv) do(method, path string, form url.Values, htmx bool) *httptest.ResponseRecorder {
	e.t.Helper()
	var req *http.Request
	if method == http.MethodPost {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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
	res := httptest.NewRecorder()
	e.h.ServeHTTP(res, req)
	return res
}

func (e *adminEnv) get(path string) *goquery.Document {
	e.t.Helper()
	res := e.do(http.MethodGet, path, nil, false)
	if res.Code != http.StatusOK {
		e.t.Fatalf("GET %s: status %d: %s", path, res.Code, res.Body)
	}
	return parseHTML(e.t, res)
}

func (e *adminEnv) job(key domain.JobKey) *domain.Job {
	e.t.Helper()
	j, err := e.db.GetJob(context.Background(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *adminEnv) audit() []domain.AuditEvent {
	e.t.Helper()
	events, _, err := e.db.ListAudit(context.Background(), 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return events
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

// recordingRunner stands in for the engine in handler tests: it records
// which jobs the scheduler fired.
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

// topics records the cluster notifications the pages sent.
type topics struct {
	mu   sync.Mutex
	sent []string
}

func (tp *topics) add(_ context.Context, topic string) {
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
