package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"idm/internal/cli"
	"idm/internal/testenv"
)

// Issue 10, the secrets test: the database password (right or wrong), the
// bind password (right or wrong), the secret key, the accounts' passwords
// and every session token appear in no page, JSON answer, CSV, log line,
// command output or error, whichever path fails. The whole program runs as
// a person runs it: idm serve on a PostgreSQL database that checks its
// password, against a real slapd, logging at debug.

const (
	secretDBPassword   = "DbPw-7f3a9c41"
	wrongDBPassword    = "WrongDbPw-2b81e6"
	wrongBindPassword  = "WrongBindPw-c4d2a7"
	webhookSecret      = "WebhookSecret-9d3e51aa0f"
	wrongAPIToken      = "idm_WrongApiToken5c8e1d0b7a"
	secretBindPassword = testenv.SlapdAdminPassword
)

// secretWitness records everything the program shows anyone: pages and
// their headers, command output, log lines, errors; and the secrets none
// of it may hold.
type secretWitness struct {
	mu      sync.Mutex
	seen    []shown
	secrets map[string]string // what → value
}

type shown struct{ where, text string }

func newSecretWitness() *secretWitness {
	return &secretWitness{secrets: map[string]string{
		"the database password": secretDBPassword, "a wrong database password": wrongDBPassword,
		"the bind password": secretBindPassword, "a wrong bind password": wrongBindPassword,
		"the secret key": secretKey, "the account's password": e2ePassword, "the webhook's signing secret": webhookSecret,
		"a wrong API token": wrongAPIToken,
	}}
}

func (w *secretWitness) saw(where, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, shown{where, text})
}

func (w *secretWitness) secret(what, value string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.secrets[what] = value
}

// count is how many things were shown at where.
func (w *secretWitness) count(where string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, s := range w.seen {
		if s.where == where {
			n++
		}
	}
	return n
}

// check fails for each secret shown anywhere, and says where; it returns
// how many places it read.
func (w *secretWitness) check(t *testing.T) int {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.seen {
		for what, v := range w.secrets {
			if i := strings.Index(s.text, v); i >= 0 {
				t.Errorf("%s shows %s: …%s…", s.where, what, s.text[max(0, i-120):min(len(s.text), i+len(v)+40)])
			}
		}
	}
	return len(w.seen)
}

// witnessedProgram runs idm commands with one environment and shows the
// witness all they print.
type witnessedProgram struct {
	t   *testing.T
	w   *secretWitness
	env map[string]string
	log *syncBuffer // everything serve logs
}

func (p *witnessedProgram) io(stdin string, out, errOut io.Writer) cli.IO {
	return cli.IO{Getenv: func(k string) string { return p.env[k] }, Stdin: strings.NewReader(stdin), Stdout: out, Stderr: errOut}
}

// run runs one command; its output and error go to the witness.
func (p *witnessedProgram) run(stdin string, args ...string) (string, error) {
	p.t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := cli.Run(ctx, args, p.io(stdin, &out, &errOut))
	where := "idm " + strings.Join(args, " ")
	p.w.saw(where+" (stdout)", out.String())
	p.w.saw(where+" (stderr)", errOut.String())
	if err != nil {
		p.w.saw(where+" (error)", err.Error())
	}
	return out.String(), err
}

func (p *witnessedProgram) must(stdin string, args ...string) string {
	p.t.Helper()
	out, err := p.run(stdin, args...)
	if err != nil {
		p.t.Fatalf("idm %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// createToken makes an API token with idm token create: the one place it
// is shown is its standard output, which the witness does not read; from
// then on it is a secret.
func (p *witnessedProgram) createToken(account, name string) string {
	p.t.Helper()
	var out, errOut bytes.Buffer
	if err := cli.Run(context.Background(), []string{"token", "create", "--account", account, "--name", name}, p.io("", &out, &errOut)); err != nil {
		p.t.Fatalf("idm token create: %v\n%s", err, errOut.String())
	}
	p.w.saw("idm token create (stderr)", errOut.String())
	token := strings.TrimSpace(out.String())
	p.w.secret("an API token", token)
	return token
}

// serve starts idm serve with args until the returned stop is called; its
// output and log go to the witness at stop.
func (p *witnessedProgram) serve(args ...string) (base string, stop func()) {
	p.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServeIO(p.t, ctx, p.io("", p.log, p.log), p.log, args...)
	return base, func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			p.w.saw("serve's error", err.Error())
		}
		p.w.saw("serve's log", p.log.String())
	}
}

func TestSecretsNeverShown(t *testing.T) {
	sl := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"))
	dbURL := testenv.PostgresPasswordURL(t, secretDBPassword)
	w := newSecretWitness()
	p := &witnessedProgram{t: t, w: w, log: &syncBuffer{}, env: map[string]string{
		"IDM_DATA_DIR": t.TempDir(), "IDM_DATABASE_URL": dbURL, "IDM_SECRET_KEY": secretKey,
		"IDM_LOG_LEVEL": "debug", "USER": "tester",
	}}
	p.must(e2ePassword+"\n", "account", "create", "--role", "administrator", "alice")
	d := &directoryFaults{t: t, p: p, sl: sl, right: writeTestFile(t, "right.pw", secretBindPassword+"\n"),
		wrong: writeTestFile(t, "wrong.pw", wrongBindPassword+"\n")}
	d.configure(sl.URL, d.right)
	p.must("", "ldap", "test")

	token := p.createToken("alice", "ci")

	base, stop := p.serve("--metrics-listen", "127.0.0.1:0")
	b := newWitnessedBrowser(t, w, base)
	b.signIn("alice", e2ePassword)
	hook := b.createWebhook(newWitnessedReceiver(t, w))
	b.createToken("alice", "deploy")
	d.web = b
	d.eachFault() // the failed runs notify the webhook
	b.do(http.MethodPost, "/admin/notifications/"+hook+"/test", nil)
	b.callAPI(token)
	b.crawl("/admin", "/operator")
	if m := metricsLine.FindStringSubmatch(p.log.String()); m != nil {
		b.do(http.MethodGet, m[1], nil)
	} else {
		t.Error("serve printed no metrics address")
	}
	b.signOut()
	b.signIn("alice", e2ePassword) // a second session, signed out at once
	b.signOut()
	stop()

	d.configure(sl.LDAPSURL, d.right) // the TLS fault again, from the command line
	for _, args := range [][]string{
		{"ldap", "show"}, {"ldap", "show", "--json"}, {"export", "--json"}, {"ldap", "test"}, {"job", "run", "active", "--json"},
		{"token", "list"},
	} {
		_, _ = p.run("", args...)
	}
	wrongDB(t, p)
	if n := w.count("what the webhook receiver got"); n < 2 {
		t.Errorf("the webhook receiver got %d notices; want Send test's and the failed runs'", n)
	}
	if n := w.check(t); n < 40 {
		t.Errorf("the witness read %d places; the test drove too little", n)
	}
}

// wrongDB runs migrate and serve on the database with a wrong password:
// refused, and neither password shown.
func wrongDB(t *testing.T, p *witnessedProgram) {
	u, err := url.Parse(p.env["IDM_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), wrongDBPassword)
	p.env["IDM_DATABASE_URL"] = u.String()
	for _, args := range [][]string{{"migrate"}, {"serve", "--listen", "127.0.0.1:0"}, {"ldap", "show"}} {
		if _, err := p.run("", args...); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
			t.Errorf("idm %s with a wrong database password: %v, want the server's refusal", strings.Join(args, " "), err)
		}
	}
}

// directoryFaults drives the directory's failures through the pages and
// the command line.
type directoryFaults struct {
	t            *testing.T
	p            *witnessedProgram
	web          *witnessedBrowser
	sl           *testenv.Slapd
	right, wrong string // bind password files
}

// configure saves the LDAP connection with url and the password in pwFile.
func (d *directoryFaults) configure(url, pwFile string) {
	d.t.Helper()
	d.p.must("", "ldap", "configure", "--preset", "openldap", "--url", url, "--bind-dn", d.sl.AdminDN,
		"--bind-password-file", pwFile, "--base-dn", d.sl.BaseDN, "--deactivate-max-percent", "100")
}

// eachFault: the working directory, then bind refused, directory down, TLS
// refused and Test connection to another host, each tested and run from
// the pages and from the command line.
func (d *directoryFaults) eachFault() {
	d.tryAll("working", "entries match")
	d.configure(d.sl.URL, d.wrong)
	d.tryAll("bind refused", "invalid credentials")
	d.configure(d.sl.URL, d.right)
	d.sl.Stop()
	d.tryAll("directory down", "connection refused")
	d.sl.Start()
	d.configure(d.sl.LDAPSURL, d.right) // no CA: slapd's certificate is not trusted
	d.tryAll("TLS refused", "certificate signed by unknown authority")
	d.configure(d.sl.URL, d.right)
	d.otherHost()
}

// tryAll tests the connection (page and command), which must report
// want, and runs the active job.
func (d *directoryFaults) tryAll(fault, want string) {
	d.t.Helper()
	if body := d.web.testConnection(fault, nil); !strings.Contains(body, want) {
		d.t.Errorf("Test connection (%s) does not say %q", fault, want)
	}
	if out, _ := d.p.run("", "ldap", "test"); !strings.Contains(out, want) {
		d.t.Errorf("idm ldap test (%s) does not say %q:\n%s", fault, want, out)
	}
	d.web.runNow(fault)
}

// otherHost tests and saves the connection with the URL changed to a
// listener that records what reaches it and the password left empty: both
// are refused, and the stored password reaches nobody.
func (d *directoryFaults) otherHost() {
	d.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		d.t.Fatal(err)
	}
	var got syncBuffer
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.Copy(&got, c)
			c.Close()
		}
	}()
	changed := url.Values{"url": {"ldap://" + ln.Addr().String()}, "bind_password": {""}}
	if body := d.web.testConnection("another host", changed); !strings.Contains(body, "password") {
		d.t.Errorf("Test connection to another host without the password: no word of the password:\n%.2000s", body)
	}
	if res := d.web.postLDAPForm("/admin/ldap", "save to another host", changed); res != http.StatusUnprocessableEntity {
		d.t.Errorf("saving another host without the password: %d, want 422", res)
	}
	_ = ln.Close()
	d.p.w.saw("what reached the other host", got.String())
}

// witnessedBrowser is a signed-in browser whose every answer goes to the
// witness; each session token it gets becomes a secret.
type witnessedBrowser struct {
	t    *testing.T
	w    *secretWitness
	base string
	c    *http.Client
}

func newWitnessedBrowser(t *testing.T, w *secretWitness, base string) *witnessedBrowser {
	jar, _ := cookiejar.New(nil)
	return &witnessedBrowser{t: t, w: w, base: base, c: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request to path (or an absolute URL), a POST as a
// same-origin form, and shows the witness the answer: status, headers but
// the session cookie it sets, body.
func (b *witnessedBrowser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = b.base + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	h := res.Header.Clone()
	h.Del("Set-Cookie")
	var head strings.Builder
	_ = h.Write(&head)
	b.w.saw(method+" "+path, fmt.Sprintf("%s\n%s\n%s", res.Status, head.String(), body))
	for _, c := range res.Cookies() {
		if c.Value != "" {
			b.w.secret("a session token", c.Value)
		}
	}
	return res, string(body)
}

func (b *witnessedBrowser) signIn(name, password string) {
	b.t.Helper()
	if res, body := b.do(http.MethodPost, "/login", url.Values{"username": {name}, "password": {password}}); res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d %.500s", res.StatusCode, body)
	}
}

func (b *witnessedBrowser) signOut() { b.do(http.MethodPost, "/logout", nil) }

// createWebhook creates a webhook to receiver, signed with webhookSecret,
// told of every run's end, and returns its id.
func (b *witnessedBrowser) createWebhook(receiver string) string {
	b.t.Helper()
	form := url.Values{"name": {"On call"}, "url": {receiver}, "secret": {webhookSecret}, "enabled": {"true"},
		"event": {"run_failed", "safety_stop", "succeeded_with_errors", "succeeded"}}
	res, body := b.do(http.MethodPost, "/admin/notifications", form)
	id, ok := strings.CutPrefix(res.Header.Get("Location"), "/admin/notifications/")
	if res.StatusCode != http.StatusSeeOther || !ok {
		b.t.Fatalf("create webhook: %d %.500s", res.StatusCode, body)
	}
	return id
}

// createToken makes an API token on the API tokens page, which shows it
// once: that page alone is not shown to the witness; the token is a
// secret from then on.
func (b *witnessedBrowser) createToken(account, name string) {
	b.t.Helper()
	form := url.Values{"account": {account}, "name": {name}, "expires": {"30d"}}
	req, _ := http.NewRequest(http.MethodPost, b.base+"/admin/tokens", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	token := doc.Find(`[data-testid="new-token"]`).AttrOr("value", "")
	if !strings.HasPrefix(token, "idm_") {
		b.t.Fatalf("the API tokens page shows no new token (%d)", res.StatusCode)
	}
	b.w.secret("an API token made on the page", token)
}

// callAPI reads and changes through the JSON API with token (and once with
// a wrong one), showing the witness every answer.
func (b *witnessedBrowser) callAPI(token string) {
	b.t.Helper()
	for _, c := range []struct{ method, path, token, body string }{
		{http.MethodGet, "/api/v1/jobs", token, ""},
		{http.MethodGet, "/api/v1/ldap", token, ""},
		{http.MethodPost, "/api/v1/jobs/active/runs", token, `{"dry_run":true}`},
		{http.MethodPut, "/api/v1/ldap", token, `{"url":"ldap://127.0.0.1:1"}`},
		{http.MethodGet, "/api/v1/jobs", wrongAPIToken, ""},
		{http.MethodGet, "/api/v1/ldap", "", ""},
	} {
		req, _ := http.NewRequest(c.method, b.base+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var head strings.Builder
		_ = res.Header.Write(&head)
		b.w.saw("API "+c.method+" "+c.path, res.Status+"\n"+head.String()+"\n"+string(body))
		if c.token == token && c.method == http.MethodGet && res.StatusCode != http.StatusOK {
			b.t.Errorf("API %s %s: %d %s", c.method, c.path, res.StatusCode, body)
		}
	}
}

// newWitnessedReceiver is a webhook receiver that shows the witness every
// notice it gets, headers and body.
func newWitnessedReceiver(t *testing.T, w *secretWitness) string {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var head strings.Builder
		_ = r.Header.Write(&head)
		w.saw("what the webhook receiver got", r.Method+" "+r.URL.String()+"\n"+head.String()+"\n"+string(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/idm"
}

// testConnection clicks Test connection on the LDAP page with the fields
// in changed replaced, and returns the answer.
func (b *witnessedBrowser) testConnection(fault string, changed url.Values) string {
	b.t.Helper()
	form := b.ldapForm()
	for k, v := range changed {
		form[k] = v
	}
	_, body := b.do(http.MethodPost, "/admin/ldap/test", form)
	b.w.saw("Test connection ("+fault+")", body)
	return body
}

// postLDAPForm posts the LDAP form as shown, fields in changed replaced,
// to path, and returns the status.
func (b *witnessedBrowser) postLDAPForm(path, what string, changed url.Values) int {
	form := b.ldapForm()
	for k, v := range changed {
		form[k] = v
	}
	res, _ := b.do(http.MethodPost, path, form)
	return res.StatusCode
}

// ldapForm is the LDAP form as the page fills it.
func (b *witnessedBrowser) ldapForm() url.Values {
	b.t.Helper()
	_, body := b.do(http.MethodGet, "/admin/ldap", nil)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	form := url.Values{}
	doc.Find(`[data-testid="ldap-form"]`).Find("input[name], select[name], textarea[name]").Each(func(_ int, s *goquery.Selection) {
		name := s.AttrOr("name", "")
		switch {
		case goquery.NodeName(s) == "textarea":
			form.Set(name, s.Text())
		case goquery.NodeName(s) == "select":
			form.Set(name, s.Find("option[selected]").AttrOr("value", ""))
		case s.AttrOr("type", "") == "checkbox":
			if _, on := s.Attr("checked"); on {
				form.Set(name, s.AttrOr("value", "on"))
			}
		default:
			form.Set(name, s.AttrOr("value", ""))
		}
	})
	return form
}

// runNow runs the active job from its card and waits for its end.
func (b *witnessedBrowser) runNow(fault string) {
	b.t.Helper()
	if res, body := b.do(http.MethodPost, "/operator/jobs/active/run", nil); res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("Run now (%s): %d %.500s", fault, res.StatusCode, body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, body := b.do(http.MethodGet, "/operator/jobs/active/status", nil)
		if !strings.Contains(body, `data-status="running"`) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the run (%s) did not end within 60s", fault)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// crawl reads every page of ours that links lead to from the start pages,
// the run pages and their CSV exports among them.
func (b *witnessedBrowser) crawl(start ...string) {
	b.t.Helper()
	queue, seen := slices.Clone(start), map[string]bool{}
	for len(queue) > 0 && len(seen) < 200 {
		path := queue[0]
		queue = queue[1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		res, body := b.do(http.MethodGet, path, nil)
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			continue
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
		if err != nil {
			b.t.Fatal(err)
		}
		doc.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
			if href := a.AttrOr("href", ""); strings.HasPrefix(href, "/") && !strings.HasPrefix(href, "//") && !strings.HasPrefix(href, "/static/") {
				queue = append(queue, href)
			}
		})
	}
	for _, want := range []string{"/admin/ldap", "/admin/audit"} {
		if !seen[want] {
			b.t.Errorf("the crawl never reached %s", want)
		}
	}
	isCSV := func(p string) bool { path, _, _ := strings.Cut(p, "?"); return strings.HasSuffix(path, ".csv") }
	if !slices.ContainsFunc(slices.Collect(maps.Keys(seen)), isCSV) {
		b.t.Error("the crawl never reached a CSV export")
	}
}
