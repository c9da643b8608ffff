package metrics_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/metrics"
	"idm/internal/store"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is a metrics server over a real store and an engine that syncs a
// real slapd, as serve wires them.
type world struct {
	t    *testing.T
	db   *store.DB
	ldap *testenv.Slapd
	eng  *engine.Engine
	url  string
}

func newWorld(t *testing.T, dbURL string) *world {
	t.Helper()
	db := testenv.MustOpenDB(t, dbURL)
	sl := testenv.StartSlapd(t, testenv.Fixture(t, "people.ldif"))
	s := domain.DefaultLDAPSettings()
	s.URL, s.BaseDN, s.BindDN, s.BindPasswordEnc = sl.URL, sl.BaseDN, sl.AdminDN, sl.AdminPassword
	s.DeactivateMaxUsers, s.DeactivateMaxPercent = 1000, 100
	if _, err := db.SaveLDAPSettings(context.Background(), s, "test"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	counters := metrics.NewRunCounters()
	eng := engine.New(engine.Deps{
		DB: db, Dial: engine.DialDirectory, Instance: "metrics-test", Logger: log, Observer: counters,
		// The bind password is stored in clear here: the box is tested in internal/secret.
		OpenSecret: func(s string) (string, error) { return s, nil },
	})
	t.Cleanup(func() { _ = eng.Shutdown(context.Background()) })
	reg, err := metrics.NewRegistry(metrics.Options{
		Store: db, Pools: db.SQLPools(), Counters: counters, Location: time.UTC,
		StaleAfter: engine.DefaultStaleAfter, Now: db.Now, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := metrics.NewServer(ln, reg, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &world{t: t, db: db, ldap: sl, eng: eng, url: srv.URL()}
}

// run runs job key from the command line and returns its final record.
func (w *world) run(key domain.JobKey, dryRun bool) *domain.Run {
	w.t.Helper()
	r, err := w.eng.Run(context.Background(), key, engine.RunOptions{Trigger: domain.TriggerCLI, By: "cli:test", DryRun: dryRun})
	if err != nil {
		w.t.Fatalf("run %s: %v", key, err)
	}
	return r
}

// expectStop runs the inactive job and checks that a safety check stopped
// it for reason.
// expectStop runs the inactive job, which must stop for reason, and
// returns how many entries the stopped run read (its planning pass).
func (w *world) expectStop(reason string) int {
	w.t.Helper()
	r := w.run(domain.JobInactive, false)
	if r.Status != domain.RunSafetyStop || r.StopReason != reason {
		w.t.Fatalf("inactive run: %s (%q), want a safety stop (%q): %s", r.Status, r.StopReason, reason, r.Message)
	}
	return r.Read
}

// limitDeactivations sets how many users a run may deactivate.
func (w *world) limitDeactivations(n int) {
	w.t.Helper()
	ctx := context.Background()
	s, err := w.db.LDAPSettings(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	s.DeactivateMaxUsers = n
	if _, err := w.db.SaveLDAPSettings(ctx, s, "test"); err != nil {
		w.t.Fatal(err)
	}
}

// exposition is one scrape of /metrics: its text and its parsed families.
type exposition struct {
	text     []byte
	families map[string]*dto.MetricFamily
}

func (w *world) scrape() *exposition {
	w.t.Helper()
	res, err := http.Get(w.url)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		w.t.Fatalf("GET %s: %d %v\n%s", w.url, res.StatusCode, err, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		w.t.Fatalf("parse the exposition: %v\n%s", err, body)
	}
	return &exposition{text: body, families: families}
}

// value is the value of series name{labels} (labels as "k", "v", …); false
// when there is no such series. A histogram's value is its count.
func (e *exposition) value(name string, labels ...string) (float64, bool) {
	f, ok := e.families[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels) {
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, labels []string) bool {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// expect checks series name{labels} == want.
func (e *exposition) expect(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := e.value(name, labels...)
	if !ok {
		t.Errorf("%s%v: no such series", name, labels)
	} else if math.Abs(got-want) > 1e-3 {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// expectNone checks that series name{labels} is absent.
func (e *exposition) expectNone(t *testing.T, name string, labels ...string) {
	t.Helper()
	if got, ok := e.value(name, labels...); ok {
		t.Errorf("%s%v = %v, want no series", name, labels, got)
	}
}

// TestMetricsFollowRuns boots the metrics server, runs both jobs against
// slapd, and checks that the counters and the database gauges move.
func TestMetricsFollowRuns(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		before := w.scrape()
		checkBeforeAnyRun(t, before)

		active := w.run(domain.JobActive, false)
		if active.Status != domain.RunSucceeded || active.Created != 7 {
			t.Fatalf("active run: %s, created %d: %s", active.Status, active.Created, active.Message)
		}
		after := w.scrape()
		checkActiveRun(t, after, active)

		// alice and bob leave: the inactive job would deactivate them.
		w.ldap.Modify(t, "dn: uid=alice,ou=people,dc=example,dc=com\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n\n"+
			"dn: uid=bob,ou=people,dc=example,dc=com\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n")
		w.limitDeactivations(0)
		stoppedRead := w.expectStop(domain.StopDeactivationLimit)
		w.limitDeactivations(1000)
		w.ldap.Stop()
		stoppedRead += w.expectStop(domain.StopDirectoryUnreachable)
		w.ldap.Start()
		inactive := w.run(domain.JobInactive, false)
		if inactive.Status != domain.RunSucceeded || inactive.Deactivated != 2 {
			t.Fatalf("inactive run: %s, deactivated %d: %s", inactive.Status, inactive.Deactivated, inactive.Message)
		}
		w.run(domain.JobActive, true) // a dry run: counted nowhere
		final := w.scrape()
		checkInactiveRuns(t, final, inactive, stoppedRead)
		checkRunning(t, w)
		checkExposition(t, final.text)
	})
}

func checkBeforeAnyRun(t *testing.T, e *exposition) {
	t.Helper()
	e.expect(t, 1, "idm_database_up")
	e.expect(t, 0, "idm_job_runs_total", "job", "active", "status", "succeeded", "trigger", "command_line")
	e.expect(t, 0, "idm_sync_changes_total", "job", "active", "kind", "created")
	e.expect(t, 0, "idm_safety_stops_total", "job", "inactive", "reason", domain.StopDeactivationLimit)
	e.expect(t, 0, "idm_users", "state", "active")
	e.expect(t, 0, "idm_job_enabled", "job", "active")
	e.expect(t, 86400, "idm_job_interval_seconds", "job", "active") // 0 2 * * *
	e.expect(t, 0, "idm_job_running", "job", "active")
	e.expectNone(t, "idm_job_last_run_status", "job", "active")
	e.expectNone(t, "idm_job_last_success_timestamp_seconds", "job", "active")
	e.expectNone(t, "idm_job_next_run_timestamp_seconds", "job", "active") // not enabled
	for _, family := range []string{"go_goroutines", "process_cpu_seconds_total", "go_sql_open_connections"} {
		if _, ok := e.families[family]; !ok {
			t.Errorf("no %s: the Go, process and pool collectors must be registered", family)
		}
	}
}

func checkActiveRun(t *testing.T, e *exposition, r *domain.Run) {
	t.Helper()
	e.expect(t, 1, "idm_job_runs_total", "job", "active", "status", "succeeded", "trigger", "command_line")
	e.expect(t, 1, "idm_job_run_duration_seconds", "job", "active")
	e.expect(t, float64(r.Read), "idm_sync_entries_read_total", "job", "active")
	e.expect(t, 7, "idm_sync_changes_total", "job", "active", "kind", "created")
	e.expect(t, 7, "idm_users", "state", "active")
	e.expect(t, 1, "idm_job_last_run_status", "job", "active", "status", "succeeded")
	e.expect(t, 0, "idm_job_last_run_status", "job", "active", "status", "failed")
	e.expect(t, float64(r.FinishedAt.UnixNano())/1e9, "idm_job_last_success_timestamp_seconds", "job", "active")
	e.expect(t, r.FinishedAt.Sub(r.StartedAt).Seconds(), "idm_job_last_success_duration_seconds", "job", "active")
	e.expectNone(t, "idm_job_last_run_status", "job", "inactive")
}

// checkInactiveRuns: r is the run that succeeded; the stopped runs read
// stoppedRead entries before they stopped.
func checkInactiveRuns(t *testing.T, e *exposition, r *domain.Run, stoppedRead int) {
	t.Helper()
	e.expect(t, 1, "idm_safety_stops_total", "job", "inactive", "reason", domain.StopDeactivationLimit)
	e.expect(t, 1, "idm_safety_stops_total", "job", "inactive", "reason", domain.StopDirectoryUnreachable)
	e.expect(t, 0, "idm_safety_stops_total", "job", "inactive", "reason", domain.StopDirectoryShrank)
	e.expect(t, 2, "idm_job_runs_total", "job", "inactive", "status", "safety_stop", "trigger", "command_line")
	e.expect(t, 1, "idm_job_runs_total", "job", "inactive", "status", "succeeded", "trigger", "command_line")
	e.expect(t, 1, "idm_job_runs_total", "job", "active", "status", "succeeded", "trigger", "command_line") // the dry run is not counted
	e.expect(t, 3, "idm_sync_changes_total", "job", "inactive", "kind", "created")
	e.expect(t, 2, "idm_sync_changes_total", "job", "inactive", "kind", "deactivated")
	e.expect(t, float64(r.Read+stoppedRead), "idm_sync_entries_read_total", "job", "inactive")
	e.expect(t, 5, "idm_users", "state", "inactive")
	e.expect(t, 5, "idm_users", "state", "active")
	e.expect(t, 1, "idm_job_last_run_status", "job", "inactive", "status", "succeeded")
	e.expect(t, 0, "idm_job_last_run_status", "job", "inactive", "status", "safety_stop")
	e.expect(t, 1, "idm_job_last_run_status", "job", "active", "status", "succeeded") // not the dry run's
}

// checkRunning records a run in progress (of another instance) and checks
// that the gauges show it, then ends it.
func checkRunning(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	now := w.db.Now()
	r := &domain.Run{ID: store.NewID(), JobKey: domain.JobActive, Trigger: domain.TriggerSchedule, Status: domain.RunRunning,
		StartedAt: now, HeartbeatAt: now, Instance: "elsewhere"}
	if err := w.db.CreateRun(ctx, r, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	e := w.scrape()
	e.expect(t, 1, "idm_job_running", "job", "active")
	e.expect(t, float64(now.UnixNano())/1e9, "idm_job_run_started_timestamp_seconds", "job", "active")
	e.expect(t, 0, "idm_job_running", "job", "inactive")
	r.Status, r.FinishedAt = domain.RunFailed, &now
	if err := w.db.FinishRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	e = w.scrape()
	e.expect(t, 0, "idm_job_running", "job", "active")
	e.expectNone(t, "idm_job_run_started_timestamp_seconds", "job", "active")
	e.expect(t, 1, "idm_job_last_run_status", "job", "active", "status", "failed")
}

// acceptedLint are promtool check metrics' complaints that are accepted:
// none at present.
var acceptedLint = []string{}

// checkExposition pipes the live exposition through promtool check metrics.
func checkExposition(t *testing.T, text []byte) {
	t.Helper()
	cmd := exec.Command(testenv.Promtool(t), "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	out, err := cmd.CombinedOutput()
	var problems []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !accepted(line) {
			problems = append(problems, line)
		}
	}
	// promtool exits non-zero for lint problems too, accepted or not: a
	// failure is a line not accepted, or a failure that says nothing.
	if len(problems) > 0 || (err != nil && len(out) == 0) {
		t.Errorf("promtool check metrics: %v\n%s", err, strings.Join(problems, "\n"))
	}
}

func accepted(line string) bool {
	for _, a := range acceptedLint {
		if strings.Contains(line, a) {
			return true
		}
	}
	return false
}

// TestAlertRules checks the shipped alert rules and runs their unit tests
// with promtool.
func TestAlertRules(t *testing.T) {
	promtool := testenv.Promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "idm-alerts.yml"},
		{"test", "rules", "idm-alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../../deploy/prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
