package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"idm/internal/cli"
	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// serveChildEnv makes this test binary run `idm serve` with its arguments
// instead of the tests: TestCluster starts real server processes this way,
// without building a binary.
const serveChildEnv = "IDM_TEST_SERVE_CHILD"

// serveChild is `idm serve` as cmd/idm runs it: stopped by SIGTERM.
func serveChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cli.Run(ctx, os.Args[1:], cli.IO{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil && cli.ExitCode(err) != 0 {
		fmt.Fprintln(os.Stderr, "idm:", err)
	}
	return cli.ExitCode(err)
}

// The cluster's settings: a job every two seconds, a stale window of
// eight (longer than the three-second database outage of postgresRestart
// and its retries, so that a run's owner records its own end).
const (
	clusterPeriod   = 2 * time.Second
	clusterSchedule = "*/2 * * * * *"
	clusterStale    = 8 * time.Second
	clusterPeople   = 8
	clusterPassword = "a long enough cluster password"
)

// logEvent is one structured log line of an instance, with when the test
// read it.
type logEvent struct {
	at    time.Time
	node  string
	msg   string
	attrs map[string]any
}

// eventLog gathers every instance's log lines.
type eventLog struct {
	mu     sync.Mutex
	events []logEvent
	raw    []string // lines that are not JSON: race reports, panics
	lines  []string // every line, for a failed test's log
}

// dump logs every instance's lines when the test failed.
func (l *eventLog) dump(t *testing.T) {
	if !t.Failed() && os.Getenv("IDM_CLUSTER_LOG") == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("the instances' logs:\n%s", strings.Join(l.lines, "\n"))
}

func (l *eventLog) add(node, line string) {
	var attrs map[string]any
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, time.Now().Format("15:04:05.000")+" "+node+" "+line)
	if err := json.Unmarshal([]byte(line), &attrs); err != nil {
		l.raw = append(l.raw, node+": "+line)
		return
	}
	msg, _ := attrs["msg"].(string)
	l.events = append(l.events, logEvent{at: time.Now(), node: node, msg: msg, attrs: attrs})
}

// find returns the events after since that match.
func (l *eventLog) find(since time.Time, match func(logEvent) bool) []logEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logEvent
	for _, e := range l.events {
		if !e.at.Before(since) && match(e) {
			out = append(out, e)
		}
	}
	return out
}

// node is one `idm serve` process.
type node struct {
	name    string
	cmd     *exec.Cmd
	base    string
	serving chan string // the base URL, once it serves
	exited  chan struct{}
	stopped bool // SIGSTOPped
}

// clusterEnv is three instances on one PostgreSQL server of the test's own
// (the test restarts it), reading a slapd through a proxy that can slow the
// directory down so that runs last long enough to be killed mid-way.
type clusterEnv struct {
	t      *testing.T
	pg     *testenv.Postgres
	dbURL  string
	key    string
	ldap   *testenv.Slapd
	proxy  *slowProxy
	obs    *store.DB
	client *http.Client
	log    *eventLog
	nodes  map[string]*node

	stopOnce sync.Once
}

func newClusterEnv(t *testing.T) *clusterEnv {
	t.Helper()
	pg := testenv.StartPostgres(t)
	c := &clusterEnv{t: t, pg: pg, dbURL: pg.NewDatabase(t), key: strings.Repeat("5a", 32),
		ldap: testenv.StartSlapd(t, testenv.PeopleLDIF(clusterPeople, 0)), log: &eventLog{}, nodes: map[string]*node{}}
	t.Cleanup(func() { c.log.dump(t) })
	c.proxy = startSlowProxy(t, fmt.Sprintf("%s:%d", c.ldap.Host, c.ldap.Port))
	jar, _ := cookiejar.New(nil)
	c.client = &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c.obs = testenv.MustOpenDB(t, c.dbURL)
	// bcrypt's lowest cost: a sign-in at the default cost takes seconds
	// under the race detector on a loaded machine.
	hash, _ := bcrypt.GenerateFromPassword([]byte(clusterPassword), bcrypt.MinCost)
	if _, err := c.obs.CreateAccount(context.Background(), "alice", domain.RoleAdministrator, string(hash), "test"); err != nil {
		t.Fatal(err)
	}
	c.command(t, c.ldap.AdminPassword+"\n", "ldap", "configure", "--preset", "openldap", "--url", "ldap://"+c.proxy.addr(),
		"--base-dn", c.ldap.BaseDN, "--bind-dn", c.ldap.AdminDN, "--bind-password-file", "-", "--page-size", "1")
	t.Cleanup(c.stopAll)
	return c
}

// env is what every process of the cluster is given.
func (c *clusterEnv) env(dataDir string) map[string]string {
	return map[string]string{"IDM_DATABASE_URL": c.dbURL, "IDM_DATA_DIR": dataDir, "IDM_SECRET_KEY": c.key,
		"IDM_TIMEZONE": "UTC", "IDM_LOG_LEVEL": "info", "IDM_LOG_FORMAT": "json"}
}

// command runs an idm subcommand in the test process.
func (c *clusterEnv) command(t *testing.T, stdin string, args ...string) {
	t.Helper()
	env := c.env(t.TempDir())
	var out, errOut strings.Builder
	io := cli.IO{Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	if err := cli.Run(context.Background(), args, io); err != nil {
		t.Fatalf("idm %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
}

var listeningLine = regexp.MustCompile(`sign in at (http://\S+)/login`)

// start starts the instances names and waits until each serves.
func (c *clusterEnv) start(t *testing.T, names ...string) {
	t.Helper()
	var started []*node
	launched := time.Now()
	for _, name := range names {
		started = append(started, c.launch(t, name))
	}
	for _, n := range started {
		select {
		case n.base = <-n.serving:
			t.Logf("%s serves %v after its start", n.name, time.Since(launched))
		case <-n.exited:
			t.Fatalf("%s exited before it served: %v", n.name, c.log.raw)
		case <-time.After(60 * time.Second):
			t.Fatalf("%s did not serve within 60s", n.name)
		}
	}
}

// launch starts instance name: this test binary as `idm serve`.
func (c *clusterEnv) launch(t *testing.T, name string) *node {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--listen", "127.0.0.1:0", "--instance", name,
		"--run-stale-after", clusterStale.String(), "--shutdown-grace", "1s")
	cmd.Env = append(os.Environ(), serveChildEnv+"=1")
	for k, v := range c.env(filepath.Join(t.TempDir(), name)) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	n := &node{name: name, cmd: cmd, exited: make(chan struct{}), serving: make(chan string, 1)}
	c.nodes[name] = n
	var streams sync.WaitGroup
	streams.Add(2)
	go func() { defer streams.Done(); c.readLines(name, stderr, nil) }()
	go func() { defer streams.Done(); c.readLines(name, stdout, n.serving) }()
	go func() { streams.Wait(); _ = cmd.Wait(); close(n.exited) }()
	return n
}

// readLines files r's lines in the event log; the first listening line's
// address goes to base.
func (c *clusterEnv) readLines(name string, r io.Reader, base chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := listeningLine.FindStringSubmatch(line); m != nil && base != nil {
			base <- m[1]
			base = nil
			continue
		}
		if strings.HasPrefix(line, "{") || base == nil && strings.TrimSpace(line) != "" {
			c.log.add(name, line)
		}
	}
}

// stopAll stops every instance still running (SIGTERM, a stopped one
// continued first) and fails the test on a race report or panic in any.
// It runs once.
func (c *clusterEnv) stopAll() { c.stopOnce.Do(c.stop) }

func (c *clusterEnv) stop() {
	for _, n := range c.nodes {
		if n.stopped {
			_ = n.cmd.Process.Signal(syscall.SIGCONT)
		}
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, n := range c.nodes {
		select {
		case <-n.exited:
		case <-time.After(30 * time.Second):
			_ = n.cmd.Process.Kill()
			c.t.Errorf("%s did not stop within 30s of SIGTERM", n.name)
		}
	}
	for _, line := range c.log.raw {
		if strings.Contains(line, "DATA RACE") || strings.Contains(line, "panic") {
			c.t.Errorf("an instance reported: %s", line)
		}
	}
}

// post sends a form as a browser on our site would, and wants a 303.
func (c *clusterEnv) post(t *testing.T, base, path string, form url.Values) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s%s: %v", base, path, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s%s: %d, want 303", base, path, res.StatusCode)
	}
}

// operatorShows reports whether base's Operator Batch jobs page shows expr
// as the active job's expression (from that instance's cache).
func (c *clusterEnv) operatorShows(base, expr string) bool {
	res, err := c.client.Get(base + "/operator/jobs")
	if err != nil {
		return false
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return strings.Contains(string(body), `data-testid="job-expression">`+expr+`<`)
}

// saveSchedule saves the active job's schedule through base's Admin page.
func (c *clusterEnv) saveSchedule(t *testing.T, base, expr string) {
	t.Helper()
	job, err := c.obs.GetJob(context.Background(), domain.JobActive)
	if err != nil {
		t.Fatal(err)
	}
	c.post(t, base, "/admin/batch-sync/active", url.Values{"expression": {expr}, "enabled": {"true"}, "version": {fmt.Sprint(job.Version)}})
}

// runs returns the active job's runs, newest first.
func (c *clusterEnv) runs() []domain.Run {
	runs, _, err := c.obs.ListRuns(context.Background(), domain.JobActive, 0, 1000)
	if err != nil {
		return nil
	}
	return runs
}

// waitRun waits, up to limit, for a run that match accepts, and returns it.
func (c *clusterEnv) waitRun(t *testing.T, limit time.Duration, what string, match func(domain.Run) bool) domain.Run {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		for _, r := range c.runs() {
			if match(r) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits, up to limit, until every node in names has logged an
// event since since that match accepts; it returns when each did.
func (c *clusterEnv) waitLog(t *testing.T, limit time.Duration, since time.Time, what string, names []string, match func(logEvent) bool) map[string]time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := map[string]time.Time{}
		for _, e := range c.log.find(since, match) {
			if _, ok := got[e.node]; !ok {
				got[e.node] = e.at
			}
		}
		missing := []string{}
		for _, n := range names {
			if _, ok := got[n]; !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not log %s within %v", missing, what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slowProxy forwards TCP connections to a directory, delaying what the
// directory sends by delay (none at first).
type slowProxy struct {
	ln     net.Listener
	target string
	delay  atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
}

func startSlowProxy(t *testing.T, target string) *slowProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *slowProxy) addr() string         { return p.ln.Addr().String() }
func (p *slowProxy) slow(d time.Duration) { p.delay.Store(int64(d)) }
func (p *slowProxy) track(conns ...net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, conns...)
	p.mu.Unlock()
}
func (p *slowProxy) pause() time.Duration     { return time.Duration(p.delay.Load()) }
func (p *slowProxy) copyTo(dst, src net.Conn) { _, _ = io.Copy(dst, src); _ = dst.Close() }

func (p *slowProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.track(client, server)
		go p.copyTo(server, client)
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 {
					time.Sleep(p.pause())
					if _, werr := client.Write(buf[:n]); werr != nil {
						err = werr
					}
				}
				if err != nil {
					_ = client.Close()
					return
				}
			}
		}()
	}
}

func (p *slowProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// TestCluster: three `idm serve` processes on one PostgreSQL, a job every
// two seconds, broken as an operations team would break them: each slot runs
// once; a saved schedule and Clear cache reach the others in under a
// second; an instance killed (kill -9) or frozen (SIGSTOP) in the middle of
// a run is taken over and the schedule goes on elsewhere, and the frozen one
// writes nothing when it wakes; PostgreSQL restarted under them is followed
// without restarting any instance.
func TestCluster(t *testing.T) {
	setUp := time.Now()
	c := newClusterEnv(t)
	t.Logf("set-up took %v", time.Since(setUp))
	names := []string{"node-a", "node-b", "node-c"}
	c.start(t, names...)
	t.Logf("three instances serve %v after the start", time.Since(setUp))
	c.post(t, c.nodes["node-a"].base, "/login", url.Values{"username": {"alice"}, "password": {clusterPassword}})

	began := time.Now()
	phase := func(name string, fn func(*testing.T)) {
		t.Run(name, fn)
		t.Logf("%s: done %v into the test", name, time.Since(began).Round(100*time.Millisecond))
	}
	phase("ScheduleAndClearCacheReachTheOthers", func(t *testing.T) { c.changesReachOthers(t, clusterSchedule, "0 2 * * *") })
	c.waitRun(t, 3*clusterPeriod+20*time.Second, "a scheduled run that succeeded", func(r domain.Run) bool {
		return r.Trigger == domain.TriggerSchedule && r.Status == domain.RunSucceeded
	})
	phase("KillMidRun", c.killMidRun)
	phase("FreezeMidRun", c.freezeMidRun)
	phase("PostgresRestart", c.postgresRestart)
	c.stopAll()
	t.Logf("the instances stopped %v into the test", time.Since(began).Round(100*time.Millisecond))
	t.Run("EachSlotOnce", c.eachSlotOnce)
	t.Run("RunsNeverOverlap", c.runsNeverOverlap)
}

// changesReachOthers saves expr on node A, checks that B and C reschedule
// within a second while their Operator caches still show was, then clears
// the cache on A and checks that B's and C's Operator pages show expr
// within a second.
func (c *clusterEnv) changesReachOthers(t *testing.T, expr, was string) {
	others := []string{"node-b", "node-c"}
	for _, n := range others {
		if !c.operatorShows(c.nodes[n].base, was) {
			t.Fatalf("%s's Operator does not show %q before the save", n, was)
		}
	}
	saved := time.Now()
	c.saveSchedule(t, c.nodes["node-a"].base, expr)
	got := c.waitLog(t, 10*time.Second, saved, "the saved schedule", others, func(e logEvent) bool {
		return e.msg == "job scheduled" && e.attrs["expression"] == expr
	})
	for _, n := range others {
		at := got[n]
		t.Logf("saved schedule rescheduled on %s %v after the save", n, at.Sub(saved))
		if at.Sub(saved) >= time.Second {
			t.Errorf("the saved schedule reached %s after %v, want under a second", n, at.Sub(saved))
		}
	}
	for _, n := range others {
		if c.operatorShows(c.nodes[n].base, expr) {
			t.Errorf("%s's Operator shows the new schedule before Clear cache", n)
		}
	}
	cleared := time.Now()
	c.post(t, c.nodes["node-a"].base, "/operator/cache/clear", nil)
	for n, at := range c.waitShown(t, others, expr) {
		t.Logf("Clear cache reached %s within %v", n, at.Sub(cleared))
		if at.Sub(cleared) >= time.Second {
			t.Errorf("Clear cache reached %s after %v, want under a second", n, at.Sub(cleared))
		}
	}
}

// waitShown polls the Operator pages of names, in turn, until each shows
// expr, and returns when each did.
func (c *clusterEnv) waitShown(t *testing.T, names []string, expr string) map[string]time.Time {
	t.Helper()
	shown := map[string]time.Time{}
	deadline := time.Now().Add(10 * time.Second)
	for len(shown) < len(names) {
		for _, n := range names {
			if _, ok := shown[n]; !ok && c.operatorShows(c.nodes[n].base, expr) {
				shown[n] = time.Now()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Clear cache, only %v show %q within 10s", shown, expr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return shown
}

// underWay waits for a scheduled run, started after since, that has read
// at least one entry and at most half of them.
func (c *clusterEnv) underWay(t *testing.T, since time.Time) domain.Run {
	t.Helper()
	return c.waitRun(t, 30*time.Second, "a scheduled run under way", func(r domain.Run) bool {
		return r.Trigger == domain.TriggerSchedule && r.Status == domain.RunRunning && r.StartedAt.After(since) &&
			r.Read >= 1 && r.Read <= clusterPeople/2 && !c.nodes[r.Instance].stopped
	})
}

// nextElsewhere waits for the first run started after since on another
// instance than victim and checks victim's run ended as aborted saying why.
func (c *clusterEnv) nextElsewhere(t *testing.T, victim domain.Run, since time.Time, limit time.Duration, why string) domain.Run {
	next := c.waitRun(t, limit+10*time.Second, "run on another instance", func(r domain.Run) bool {
		return r.StartedAt.After(since) && r.Instance != victim.Instance
	})
	gap := next.StartedAt.Sub(since)
	t.Logf("%s's run %s; the next run started on %s %v later (bound %v)", victim.Instance, why, next.Instance, gap, limit)
	if gap > limit {
		t.Errorf("the next run started %v after, want within %v", gap, limit)
	}
	got, err := c.obs.GetRun(context.Background(), victim.ID)
	if err != nil || got.Status != domain.RunAborted || !strings.Contains(got.Message, why) {
		t.Errorf("%s's run: %+v, %v; want aborted saying %q", victim.Instance, got, err, why)
	}
	return next
}

// killMidRun kills (kill -9) the instance running the job mid-run: its run
// is aborted at once and the next slot runs elsewhere within two slots
// (plus a watch interval and a margin for a loaded machine). The killed
// instance is started again.
func (c *clusterEnv) killMidRun(t *testing.T) {
	c.proxy.slow(400 * time.Millisecond)
	run := c.underWay(t, time.Time{})
	victim := c.nodes[run.Instance]
	killed := time.Now()
	_ = victim.cmd.Process.Kill()
	<-victim.exited
	c.nextElsewhere(t, run, killed, 2*clusterPeriod+clusterStale/6+3*time.Second, "database session ended")
	c.start(t, victim.name)
}

// freezeMidRun freezes (SIGSTOP) the instance running the job mid-run,
// with changes planned; changes the directory again; checks the run is
// taken over after the stale window and the successor writes the new
// values; then wakes the frozen instance and checks it wrote nothing more.
func (c *clusterEnv) freezeMidRun(t *testing.T) {
	c.ldap.Modify(t, retitle("Before"))
	run := c.underWay(t, time.Now())
	victim := c.nodes[run.Instance]
	_ = victim.cmd.Process.Signal(syscall.SIGSTOP)
	victim.stopped = true
	frozen := time.Now()
	c.ldap.Modify(t, retitle("After"))
	beat := clusterStale / 6
	next := c.nextElsewhere(t, run, frozen, clusterStale+beat+2*clusterPeriod+3*time.Second, "stopped answering")
	if gap := next.StartedAt.Sub(frozen); gap < clusterStale-beat-500*time.Millisecond {
		t.Errorf("taken over %v after the freeze, before the stale window of %v", gap, clusterStale)
	}
	c.waitRun(t, 30*time.Second, "the successor's run to succeed", func(r domain.Run) bool {
		return r.ID == next.ID && r.Status == domain.RunSucceeded
	})
	c.wantRetitled(t, "After")
	before, _ := c.obs.GetRun(context.Background(), run.ID)
	items := c.items(t, run.ID)

	_ = victim.cmd.Process.Signal(syscall.SIGCONT)
	victim.stopped = false
	woke := time.Now()
	c.waitLog(t, 20*time.Second, woke, "that it no longer owns its run", []string{victim.name}, func(e logEvent) bool {
		return e.attrs["run"] == run.ID && strings.Contains(e.msg, "another instance")
	})
	after, _ := c.obs.GetRun(context.Background(), run.ID)
	if after.Status != before.Status || after.Message != before.Message || after.Read != before.Read {
		t.Errorf("the woken instance changed its run's record: %+v, was %+v", after, before)
	}
	if n := c.items(t, run.ID); n != items {
		t.Errorf("the woken instance wrote %d run items, had %d", n, items)
	}
	c.wantRetitled(t, "After")
}

// retitle is an LDIF that sets every person's given name and title to v:
// two fields of one user change, which a half-written change would split.
func retitle(v string) string {
	var b strings.Builder
	for i := 1; i <= clusterPeople; i++ {
		fmt.Fprintf(&b, "dn: uid=user%06d,%s\nchangetype: modify\nreplace: givenName\ngivenName: %s\n-\nreplace: title\ntitle: %s\n\n", i, testenv.SlapdPeopleDN, v, v)
	}
	return b.String()
}

// wantRetitled checks every user has the given name and title v.
func (c *clusterEnv) wantRetitled(t *testing.T, v string) {
	for i := 1; i <= clusterPeople; i++ {
		u, err := c.obs.UserByUsername(context.Background(), fmt.Sprintf("user%06d", i))
		if err != nil || u.GivenName != v || u.Title != v {
			t.Errorf("user %d: %+v, %v; want given name and title %q", i, u, err, v)
		}
	}
}

func (c *clusterEnv) items(t *testing.T, runID string) int {
	t.Helper()
	_, n, err := c.obs.ListRunItems(context.Background(), runID, "", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// postgresRestart stops PostgreSQL for three seconds under the running
// instances, in the middle of a run: the run has its final record within
// seconds of the database's return, each instance listens again within
// the bus's back-off, the scheduler goes on, and a saved schedule and Clear
// cache still reach the others.
func (c *clusterEnv) postgresRestart(t *testing.T) {
	run := c.underWay(t, time.Time{})
	c.pg.Stop()
	c.proxy.slow(0)
	time.Sleep(3 * time.Second)
	c.pg.Start()
	back := time.Now()
	ended := c.waitRun(t, 20*time.Second, "the interrupted run's final record", func(r domain.Run) bool {
		return r.ID == run.ID && r.Status != domain.RunRunning
	})
	t.Logf("the run under way on %s when PostgreSQL stopped: %s %v after its return: %s", run.Instance, ended.Status, time.Since(back), ended.Message)
	if limit := time.Second + 3*time.Second; time.Since(back) > limit {
		t.Errorf("the interrupted run's final record came %v after the database returned, want within %v", time.Since(back), limit)
	}
	names := []string{"node-a", "node-b", "node-c"}
	got := c.waitLog(t, 20*time.Second, back, "that it listens again", names, func(e logEvent) bool {
		return strings.HasPrefix(e.msg, "cluster: listening again")
	})
	for n, at := range got {
		t.Logf("%s listens again %v after PostgreSQL returned", n, at.Sub(back))
		if limit := 5*time.Second + 3*time.Second; at.Sub(back) > limit {
			t.Errorf("%s listens again %v after PostgreSQL returned, want within %v", n, at.Sub(back), limit)
		}
	}
	next := c.waitRun(t, 2*clusterPeriod+20*time.Second, "a scheduled run after the restart that succeeded", func(r domain.Run) bool {
		return r.Trigger == domain.TriggerSchedule && r.StartedAt.After(back) && r.Status == domain.RunSucceeded
	})
	t.Logf("the first scheduled run after the restart started %v after PostgreSQL returned", next.StartedAt.Sub(back))
	c.changesReachOthers(t, "*/3 * * * * *", clusterSchedule)
}

// eachSlotOnce checks, over the whole test, that no slot was started twice
// (every instance logs the slots it won).
func (c *clusterEnv) eachSlotOnce(t *testing.T) {
	won := map[string][]string{}
	for _, e := range c.log.find(time.Time{}, func(e logEvent) bool { return e.msg == "scheduled run starting" }) {
		slot, _ := e.attrs["slot"].(string)
		won[slot] = append(won[slot], e.node)
	}
	t.Logf("%d slots won", len(won))
	if len(won) < 5 {
		t.Errorf("only %d slots won over the whole test", len(won))
	}
	for slot, nodes := range won {
		if len(nodes) > 1 {
			t.Errorf("slot %s started on %v", slot, nodes)
		}
	}
}

// runsNeverOverlap checks that each run started after the one before had
// ended (or was recorded as ended by its successor, a few milliseconds
// after the successor took its start time), and that none is left running.
func (c *clusterEnv) runsNeverOverlap(t *testing.T) {
	runs := c.runs()
	for i := len(runs) - 1; i > 0; i-- {
		prev, next := runs[i], runs[i-1]
		if prev.FinishedAt == nil {
			t.Errorf("run %s of %s has no end", prev.ID, prev.Instance)
			continue
		}
		if next.StartedAt.Before(prev.FinishedAt.Add(-500 * time.Millisecond)) {
			t.Errorf("run %s on %s started at %v, before run %s on %s ended at %v", next.ID, next.Instance, next.StartedAt, prev.ID, prev.Instance, *prev.FinishedAt)
		}
	}
	if len(runs) > 0 && runs[0].FinishedAt == nil {
		t.Errorf("the last run %s of %s has no end", runs[0].ID, runs[0].Instance)
	}
}
