// Command idm-bench measures the speed and memory of the two batch jobs
// against the targets of issue 6, at several directory sizes, on PostgreSQL
// and on SQLite (`make bench`).
//
// For each size N it generates N people (a tenth locked with
// pwdAccountLockedTime) into a throwaway slapd, then measures, each phase in
// a child process of its own (this binary re-executed with the phase
// subcommand) so that its peak resident memory is its own:
//
//	(a) the floor: a bare paged read of each job's filter result with go-ldap;
//	(b) the first active sync into an empty store;
//	(c) a second active sync with no directory change (must write no row);
//	(d) the inactive sync, each locked person holding two credentials with
//	    two certificates each and three roles;
//
// and, at the largest size, the latency of the Operator's Batch jobs page
// with 20 concurrent clients while (b) runs in the server's process. It
// prints a table, writes JSON to -out, and exits 0 even when a target is
// missed: the table marks MISS.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"idm/internal/domain"
	"idm/internal/secret"
	"idm/internal/store"
	"idm/internal/testenv"
)

// envKey passes the secret key (hex) to the child processes.
const envKey = "IDM_BENCH_KEY"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "phase" {
		if err := runPhase(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "idm-bench phase:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "idm-bench:", err)
		os.Exit(1)
	}
}

// options are the benchmark's flags.
type options struct {
	sizes      []int
	dbs        []string
	out        string
	profileDir string
	latency    bool
	clients    int
	think      time.Duration
	pgParams   string
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("idm-bench", flag.ContinueOnError)
	sizes := fs.String("sizes", "10000,100000", "directory sizes to measure, comma-separated")
	dbs := fs.String("dbs", "postgres,sqlite", "databases to measure: postgres, sqlite or both")
	fs.StringVar(&o.out, "out", "bench-results/bench.json", "write the results as JSON to this file")
	fs.StringVar(&o.profileDir, "profile", "", "write CPU and heap profiles of every measured phase into this directory")
	fs.BoolVar(&o.latency, "latency", true, "measure the Operator page latency during (b) at the largest size")
	fs.IntVar(&o.clients, "clients", 20, "concurrent page clients for the latency measurement")
	fs.DurationVar(&o.think, "think", 0, "each page client's pause between requests (0: back to back, the strictest load; 1s is what an open Batch jobs page polls)")
	fs.StringVar(&o.pgParams, "pg-params", "", "extra PostgreSQL connection parameters for the measured phases, such as plan_cache_mode=force_custom_plan (to try a fix)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 10 {
			return o, fmt.Errorf("-sizes: %q is not a size of at least 10", s)
		}
		o.sizes = append(o.sizes, n)
	}
	for _, d := range strings.Split(*dbs, ",") {
		switch d = strings.TrimSpace(d); d {
		case "postgres", "sqlite":
			o.dbs = append(o.dbs, d)
		default:
			return o, fmt.Errorf("-dbs: %q is neither postgres nor sqlite", d)
		}
	}
	return o, nil
}

func run(args []string) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	b := &bench{o: o, rep: &report{Machine: describeMachine(), StartedAt: time.Now().UTC()}}
	if b.key, err = newKey(); err != nil {
		return err
	}
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	for _, d := range o.dbs {
		if d == "postgres" {
			progress("starting a throwaway PostgreSQL server")
			if b.pg, err = testenv.StartPostgresServer(); err != nil {
				return fmt.Errorf("postgresql: %w", err)
			}
			defer b.pg.Close()
		}
	}
	largest := 0
	for _, n := range o.sizes {
		largest = max(largest, n)
	}
	for _, n := range o.sizes {
		sr, err := b.size(ctx, n, o.latency && n == largest)
		if err != nil {
			return err
		}
		b.rep.Sizes = append(b.rep.Sizes, sr)
	}
	b.rep.TotalSeconds = time.Since(b.rep.StartedAt).Seconds()
	b.rep.check()
	b.rep.print(os.Stdout)
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(b.rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nJSON written to %s\n", o.out)
	return nil
}

// bench is one benchmark invocation.
type bench struct {
	o    options
	rep  *report
	key  string // hex secret key shared with the children
	self string // this binary, re-executed for each phase
	pg   *testenv.PostgresServer
	seq  int
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// size measures every phase at directory size n.
func (b *bench) size(ctx context.Context, n int, latency bool) (sizeReport, error) {
	sr := sizeReport{N: n}
	dir, err := os.MkdirTemp("", "idm-bench-")
	if err != nil {
		return sr, err
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	ldif := filepath.Join(dir, "people.ldif")
	if err := writeLDIF(ldif, n); err != nil {
		return sr, err
	}
	sr.Setup.LDIFSeconds = time.Since(start).Seconds()
	progress("N=%d: LDIF written in %.1fs; loading slapd", n, sr.Setup.LDIFSeconds)
	start = time.Now()
	sl, err := testenv.StartSlapdServer(ldif)
	if err != nil {
		return sr, err
	}
	defer sl.Close()
	sr.Setup.SlapaddSeconds = time.Since(start).Seconds()
	progress("N=%d: slapd loaded and started in %.1fs", n, sr.Setup.SlapaddSeconds)

	for _, dbName := range b.o.dbs {
		dr, err := b.database(ctx, dir, sl, n, dbName, latency, &sr)
		if err != nil {
			return sr, fmt.Errorf("size %d on %s: %w", n, dbName, err)
		}
		sr.DBs = append(sr.DBs, dr)
	}
	return sr, nil
}

// database measures the phases at size n on one database. The floors are
// measured on the first database only: they do not touch it.
func (b *bench) database(ctx context.Context, dir string, sl *testenv.SlapdServer, n int, dbName string, latency bool, sr *sizeReport) (dbReport, error) {
	dr := dbReport{DB: dbName}
	url, drop, err := b.freshStore(ctx, dir, dbName, sl, n)
	if err != nil {
		return dr, err
	}
	defer drop()

	if sr.FloorActive == nil {
		if err := b.floors(ctx, dir, url, sl, n, dbName, sr); err != nil {
			return dr, err
		}
	}

	steps := []struct {
		name string
		kind string
		dst  **measurement
	}{
		{"(b)", phaseActive, &dr.FirstActive},
		{"(c)", phaseActive, &dr.SecondActive},
	}
	for _, s := range steps {
		m, err := b.phase(ctx, url, s.kind, s.name, n, dbName, sr.FloorActive)
		if err != nil {
			return dr, err
		}
		*s.dst = m
		progress("N=%d %s: %s %.2fs, %d entries, %d data rows written, peak RSS %.1f MiB", n, dbName, s.name, m.WallSeconds, m.Entries, m.DataRows, m.PeakRSSMiB)
	}

	start := time.Now()
	db, err := store.Open(ctx, url)
	if err != nil {
		return dr, err
	}
	seeded, err := seedInactiveHoldings(ctx, db, n)
	db.Close()
	if err != nil {
		return dr, err
	}
	dr.SeedSeconds = time.Since(start).Seconds()
	progress("N=%d %s: %d locked people given credentials, certificates and roles in %.1fs", n, dbName, seeded, dr.SeedSeconds)

	for _, s := range []struct {
		name string
		dst  **measurement
	}{{"(d)", &dr.Inactive}, {"(e)", &dr.SecondInactive}} {
		m, err := b.phase(ctx, url, phaseInactive, s.name, n, dbName, sr.FloorInactive)
		if err != nil {
			return dr, err
		}
		*s.dst = m
		progress("N=%d %s: %s inactive %.2fs, %d entries, %d data rows written, peak RSS %.1f MiB", n, dbName, s.name, m.WallSeconds, m.Entries, m.DataRows, m.PeakRSSMiB)
	}

	if latency {
		lurl, ldrop, err := b.freshStore(ctx, dir, dbName, sl, n)
		if err != nil {
			return dr, err
		}
		defer ldrop()
		m, err := b.phase(ctx, lurl, phaseLatency, "(b) under page load", n, dbName, sr.FloorActive)
		if err != nil {
			return dr, err
		}
		dr.Latency = m
		l := m.Latency
		progress("N=%d %s: %s during (b): %d requests by %d clients, p50 %.1fms p99 %.1fms, errors %d; run %.1fs",
			n, dbName, l.Page, l.Requests, l.Clients, l.P50Millis, l.P99Millis, l.Errors, l.RunSeconds)
	}
	return dr, nil
}

// floors measures the reads a run cannot beat, each the best of three (the
// first warms slapd's caches, and a low floor makes the ratios stricter):
// go-ldap's bare read of each filter and the count, the product's reader,
// and libldap's ldapsearch. They do not touch the store.
func (b *bench) floors(ctx context.Context, dir, url string, sl *testenv.SlapdServer, n int, dbName string, sr *sizeReport) error {
	dsts := map[string]**measurement{
		phaseFloorActive: &sr.FloorActive, phaseFloorInactive: &sr.FloorInactive, phaseFloorCount: &sr.FloorCount,
		phaseFloorStreamActive: &sr.StreamActive, phaseFloorStreamInactive: &sr.StreamInactive,
	}
	for _, kind := range []string{phaseFloorActive, phaseFloorInactive, phaseFloorCount, phaseFloorStreamActive, phaseFloorStreamInactive} {
		best, err := bestOf3(func() (*measurement, error) { return b.phase(ctx, url, kind, "(a) "+kind, n, dbName, nil) })
		if err != nil {
			return err
		}
		progress("N=%d: floor %s: %d entries in %.2fs", n, kind, best.Entries, best.WallSeconds)
		*dsts[kind] = best
	}
	set, err := b.settings(ctx, url)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		kind, filter string
		dst          **measurement
	}{{"libldap-active", set.ActiveFilter, &sr.LibLDAPActive}, {"libldap-inactive", set.InactiveFilter, &sr.LibLDAPInactive}} {
		best, err := bestOf3(func() (*measurement, error) {
			load := loadAvg()
			entries, wall, cpu, err := libldapFloor(ctx, dir, set, sl.AdminPassword, f.filter)
			m := &measurement{phaseResult: phaseResult{Kind: f.kind, WallSeconds: wall.Seconds(), Entries: entries},
				Phase: "(a) " + f.kind, CPUSeconds: cpu.Seconds(), LoadAvg: load}
			return m, err
		})
		if err != nil {
			return err
		}
		best.EntriesPerSecond = float64(best.Entries) / best.WallSeconds
		progress("N=%d: floor %s (ldapsearch): %d entries in %.2fs", n, f.kind, best.Entries, best.WallSeconds)
		*f.dst = best
	}
	return nil
}

// bestOf3 runs measure three times and keeps the fastest.
func bestOf3(measure func() (*measurement, error)) (*measurement, error) {
	var best *measurement
	for range 3 {
		m, err := measure()
		if err != nil {
			return nil, err
		}
		if best == nil || m.WallSeconds < best.WallSeconds {
			best = m
		}
	}
	return best, nil
}

// settings are the LDAP settings the bench stored, for the floors the
// parent measures itself.
func (b *bench) settings(ctx context.Context, url string) (domain.LDAPSettings, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return domain.LDAPSettings{}, err
	}
	defer db.Close()
	return db.LDAPSettings(ctx)
}

// freshStore makes an empty, migrated database pointed at the directory,
// with limits that let the inactive job deactivate the whole tenth.
func (b *bench) freshStore(ctx context.Context, dir, dbName string, sl *testenv.SlapdServer, n int) (string, func(), error) {
	b.seq++
	var url string
	var drop func()
	if dbName == "postgres" {
		name := fmt.Sprintf("bench_%d_%d", n, b.seq)
		var err error
		if url, err = b.pg.CreateDatabase(name); err != nil {
			return "", nil, err
		}
		if b.o.pgParams != "" {
			url += "&" + b.o.pgParams
		}
		drop = func() {
			if err := b.pg.DropDatabase(name); err != nil {
				slog.Warn("drop database", "name", name, "err", err)
			}
		}
	} else {
		path := filepath.Join(dir, fmt.Sprintf("bench-%d.db", b.seq))
		url = "sqlite://" + path
		drop = func() {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(path + suffix)
			}
		}
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return "", nil, err
	}
	key, _ := hex.DecodeString(b.key)
	box, err := secret.New(key)
	if err != nil {
		return "", nil, err
	}
	s, err := db.LDAPSettings(ctx)
	if err != nil {
		return "", nil, err
	}
	s.URL, s.BindDN, s.BaseDN = sl.URL, sl.AdminDN, sl.BaseDN
	if s.BindPasswordEnc, err = box.Seal(sl.AdminPassword); err != nil {
		return "", nil, err
	}
	// The benchmark deactivates a whole tenth of the directory at once, as
	// a first run against an existing store would.
	s.DeactivateMaxUsers, s.DeactivateMaxPercent = n, 100
	if _, err := db.SaveLDAPSettings(ctx, s, "idm-bench"); err != nil {
		return "", nil, err
	}
	return url, drop, nil
}

// phase runs one measurement in a child process and returns it with the
// child's own peak resident memory, the rows written, and the ratio to floor.
func (b *bench) phase(ctx context.Context, url, kind, label string, n int, dbName string, floor *measurement) (*measurement, error) {
	args := []string{"phase", "-kind", kind, "-db", url, "-clients", strconv.Itoa(b.o.clients), "-think", b.o.think.String()}
	if b.o.profileDir != "" && !strings.HasPrefix(kind, "floor") {
		b.seq++
		base := filepath.Join(b.o.profileDir, fmt.Sprintf("%d-%s-%s-%d", n, dbName, strings.Trim(label[:3], "()"), b.seq))
		args = append(args, "-cpuprofile", base+".cpu.pprof", "-memprofile", base+".mem.pprof")
	}
	var pgBefore map[string]int64
	if dbName == "postgres" && !strings.HasPrefix(kind, "floor") {
		var err error
		if pgBefore, err = pgTableWrites(ctx, url); err != nil {
			return nil, err
		}
	}
	load := loadAvg()
	cmd := exec.CommandContext(ctx, b.self, args...)
	cmd.Env = append(os.Environ(), envKey+"="+b.key)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("phase %s: %w\n%s", kind, err, stderr.String())
	}
	var res phaseResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("phase %s: read its result: %w\n%s", kind, err, out)
	}
	m := &measurement{phaseResult: res, Phase: label, LoadAvg: load}
	m.PeakRSSMiB = float64(res.PeakRSSKiB) / 1024
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.CPUSeconds = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	if m.WallSeconds > 0 {
		m.EntriesPerSecond = float64(m.Entries) / m.WallSeconds
	}
	if floor != nil && floor.WallSeconds > 0 {
		m.FloorRatio = m.WallSeconds / floor.WallSeconds
	}
	for table, rows := range m.RowsByTable {
		switch {
		case dataTables[table]:
			m.DataRows += rows
		case table == "job_runs":
			m.RunRecordRows += rows
		}
	}
	if pgBefore != nil {
		after, err := pgTableWrites(ctx, url)
		if err != nil {
			return nil, err
		}
		m.PGTableWrites = map[string]int64{}
		for t, v := range after {
			if d := v - pgBefore[t]; d != 0 {
				m.PGTableWrites[t] = d
			}
		}
	}
	if res.Status != "" && res.Status != "succeeded" {
		return nil, fmt.Errorf("phase %s: the run ended %s: %s", kind, res.Status, res.Message)
	}
	return m, nil
}

// dataTables are the tables a run writes for users and their holdings,
// and its per-user items; job_runs (the run's own record and progress) is
// counted apart.
var dataTables = map[string]bool{
	"users": true, "credentials": true, "certificates": true, "roles": true, "role_assignments": true,
	"run_items": true, "audit_events": true,
}

// pgTableWrites reads PostgreSQL's per-table counts of inserted, updated
// and deleted rows, once every other session on the database has ended
// (a backend reports its figures when it exits).
func pgTableWrites(ctx context.Context, url string) (map[string]int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres statistics: %w", err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var others int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").Scan(&others); err != nil {
			return nil, fmt.Errorf("postgres statistics: %w", err)
		}
		if others == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	rows, err := conn.Query(ctx, "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables")
	if err != nil {
		return nil, fmt.Errorf("postgres statistics: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var writes int64
		if err := rows.Scan(&name, &writes); err != nil {
			return nil, fmt.Errorf("postgres statistics: %w", err)
		}
		out[name] = writes
	}
	return out, rows.Err()
}

func newKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("idm-bench: no randomness for the secret key")
	}
	return hex.EncodeToString(b), nil
}
