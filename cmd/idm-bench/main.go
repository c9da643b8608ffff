// Command idm-bench measures the speed and memory of the two batch jobs
// and of the import against the targets of issues 6 and 13, at several
// directory sizes, on PostgreSQL and on SQLite (`make bench`).
//
// For each size N it generates N people (a share, -inactive-share, locked
// with pwdAccountLockedTime) into a throwaway slapd, then measures, each
// phase in a child process of its own (this binary re-executed with the
// phase subcommand) so that its peak resident memory is its own:
//
//	(a) the floors: a bare paged read of each job's filter result with go-ldap;
//	(b) the first active sync into an empty store;
//	(c) a second active sync with no directory change (must write no data row);
//	(d) the inactive sync, each locked person holding two credentials with
//	    two certificates each and three roles, against a composite floor: the
//	    inactive filter's read plus bare set-based SQL making the same row
//	    changes on a copy of the store;
//	(e) a second inactive sync, with nothing left to change (no data row);
//	(f) `idm import` of the locked people with their holdings into an empty
//	    store;
//
// and, at the largest size up to 100,000, the latency of the Operator's
// Batch jobs page with 20 concurrent clients while (b) runs in the server's
// process. It prints a table, writes JSON to -out, and exits 0 even when a
// target is missed: the table marks MISS.
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
	// lockedPerMille is the locked (inactive) share of the directory, in
	// thousandths.
	lockedPerMille int
	// latencyMax is the largest size at which the page latency is measured.
	latencyMax int
	// phases are the phases to measure (b to f); the floors always are,
	// each the best of floorRuns reads.
	phases    map[string]bool
	floorRuns int
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
	share := fs.Float64("inactive-share", 0.1, "share of the directory that is locked (inactive), 0.001 to 1")
	fs.IntVar(&o.latencyMax, "latency-size", 100000, "measure the page latency at the largest size up to this one")
	fs.IntVar(&o.floorRuns, "floor-runs", 3, "reads of each floor, the best of which is kept (the first warms slapd)")
	phases := fs.String("phases", "b,c,d,e,f", "phases to measure, comma-separated (c needs b, e needs d: they run too); the floors are always measured")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *share < 0.001 || *share > 1 {
		return o, fmt.Errorf("-inactive-share: %v is not between 0.001 and 1", *share)
	}
	o.lockedPerMille = int(*share*1000 + 0.5)
	o.phases = map[string]bool{}
	for _, ph := range strings.Split(*phases, ",") {
		switch ph = strings.TrimSpace(ph); ph {
		case "b", "c", "d", "e", "f":
			o.phases[ph] = true
		default:
			return o, fmt.Errorf("-phases: %q is not one of b, c, d, e, f", ph)
		}
	}
	o.phases["b"] = o.phases["b"] || o.phases["c"]
	o.phases["d"] = o.phases["d"] || o.phases["e"]
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
	latencyAt := 0
	for _, n := range o.sizes {
		if n <= o.latencyMax {
			latencyAt = max(latencyAt, n)
		}
	}
	for _, n := range o.sizes {
		sr, err := b.size(ctx, population{n: n, lockedPerMille: o.lockedPerMille}, o.latency && n == latencyAt)
		if err != nil {
			return err
		}
		b.rep.Sizes = append(b.rep.Sizes, sr)
	}
	b.rep.InactiveShare = float64(o.lockedPerMille) / 1000
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
	// holders is the import file of the size being measured, slapdPid the
	// directory server's process.
	holders  string
	slapdPid int
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// size measures every phase at the directory size of pop.
func (b *bench) size(ctx context.Context, pop population, latency bool) (sizeReport, error) {
	n := pop.n
	sr := sizeReport{N: n}
	dir, err := os.MkdirTemp("", "idm-bench-")
	if err != nil {
		return sr, err
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	ldif := filepath.Join(dir, "people.ldif")
	if err := writeLDIF(ldif, pop); err != nil {
		return sr, err
	}
	b.holders = filepath.Join(dir, "holders.jsonl")
	if _, err := writeHolders(b.holders, pop); err != nil {
		return sr, err
	}
	sr.Setup.LDIFSeconds = time.Since(start).Seconds()
	progress("N=%d: LDIF and import file written in %.1fs; loading slapd", n, sr.Setup.LDIFSeconds)
	start = time.Now()
	sl, err := testenv.StartSlapdServer(ldif)
	if err != nil {
		return sr, err
	}
	defer sl.Close()
	b.slapdPid = sl.Pid()
	sr.Setup.SlapaddSeconds = time.Since(start).Seconds()
	progress("N=%d: slapd loaded and started in %.1fs", n, sr.Setup.SlapaddSeconds)

	for _, dbName := range b.o.dbs {
		dr, err := b.database(ctx, dir, sl, pop, dbName, latency, &sr)
		if err != nil {
			return sr, fmt.Errorf("size %d on %s: %w", n, dbName, err)
		}
		sr.DBs = append(sr.DBs, dr)
	}
	return sr, nil
}

// database measures the phases at size n on one database. The floors are
// measured on the first database only: they do not touch it.
func (b *bench) database(ctx context.Context, dir string, sl *testenv.SlapdServer, pop population, dbName string, latency bool, sr *sizeReport) (dbReport, error) {
	dr := dbReport{DB: dbName}
	url, drop, err := b.freshStore(ctx, dir, dbName, sl, pop.n)
	if err != nil {
		return dr, err
	}
	defer drop()

	if sr.FloorActive == nil {
		if err := b.floors(ctx, dir, url, sl, pop.n, dbName, sr); err != nil {
			return dr, err
		}
	}
	if err := b.activePhases(ctx, url, pop.n, dbName, sr.FloorActive, &dr); err != nil {
		return dr, err
	}
	if err := b.inactivePhases(ctx, dir, url, pop, dbName, sr.FloorInactive, &dr); err != nil {
		return dr, err
	}
	if b.o.phases["f"] {
		if dr.Import, err = b.importPhase(ctx, dir, dbName, sl, pop.n); err != nil {
			return dr, err
		}
	}
	if latency {
		if dr.Latency, err = b.latency(ctx, dir, dbName, sl, pop.n, sr.FloorActive); err != nil {
			return dr, err
		}
	}
	return dr, nil
}

// activePhases measures (b) and (c).
func (b *bench) activePhases(ctx context.Context, url string, n int, dbName string, floor *measurement, dr *dbReport) error {
	var err error
	if b.o.phases["b"] {
		if dr.FirstActive, err = b.phase(ctx, url, phaseActive, "(b)", n, dbName, floor); err != nil {
			return err
		}
	}
	if b.o.phases["c"] {
		if dr.SecondActive, err = b.phase(ctx, url, phaseActive, "(c)", n, dbName, floor); err != nil {
			return err
		}
	}
	return nil
}

// inactivePhases seeds the holdings, measures (d)'s composite floor on a
// copy of the store, then (d) and (e).
func (b *bench) inactivePhases(ctx context.Context, dir, url string, pop population, dbName string, floor *measurement, dr *dbReport) error {
	if !b.o.phases["d"] {
		return nil
	}
	if err := b.seed(ctx, url, pop, dr); err != nil {
		return err
	}
	if err := b.compositeFloor(ctx, dir, url, pop.n, dbName, floor, dr); err != nil {
		return err
	}
	composite := &measurement{phaseResult: phaseResult{WallSeconds: dr.CompositeFloorSeconds}}
	var err error
	if dr.Inactive, err = b.phase(ctx, url, phaseInactive, "(d)", pop.n, dbName, composite); err != nil {
		return err
	}
	if b.o.phases["e"] {
		if dr.SecondInactive, err = b.phase(ctx, url, phaseInactive, "(e)", pop.n, dbName, floor); err != nil {
			return err
		}
	}
	return nil
}

// floors measures the reads a run cannot beat, each the best of -floor-runs
// (three; the first warms slapd's caches, and a low floor makes the ratios
// stricter, not looser): go-ldap's bare read of each filter and the count,
// the product's reader, and libldap's ldapsearch. They do not touch the
// store.
func (b *bench) floors(ctx context.Context, dir, url string, sl *testenv.SlapdServer, n int, dbName string, sr *sizeReport) error {
	dsts := map[string]**measurement{
		phaseFloorActive: &sr.FloorActive, phaseFloorInactive: &sr.FloorInactive, phaseFloorCount: &sr.FloorCount,
		phaseFloorStreamActive: &sr.StreamActive, phaseFloorStreamInactive: &sr.StreamInactive,
	}
	for _, kind := range []string{phaseFloorActive, phaseFloorInactive, phaseFloorCount, phaseFloorStreamActive, phaseFloorStreamInactive} {
		best, err := b.bestOf(func() (*measurement, error) { return b.phase(ctx, url, kind, "(a) "+kind, n, dbName, nil) })
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
		best, err := b.bestOf(func() (*measurement, error) {
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

// bestOf runs measure -floor-runs times (at least once) and keeps the
// fastest.
func (b *bench) bestOf(measure func() (*measurement, error)) (*measurement, error) {
	var best *measurement
	for range max(1, b.o.floorRuns) {
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

// seed gives the locked people their holdings, as an earlier sync and the
// issuing of their cards left them (set-up, not measured).
func (b *bench) seed(ctx context.Context, url string, pop population, dr *dbReport) error {
	start := time.Now()
	db, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	seeded, err := seedInactiveHoldings(ctx, db, pop)
	db.Close()
	if err != nil {
		return err
	}
	dr.SeedSeconds = time.Since(start).Seconds()
	progress("N=%d %s: %d locked people given credentials, certificates and roles in %.1fs", pop.n, dr.DB, seeded, dr.SeedSeconds)
	return nil
}

// latency measures (b) in a fresh store while operators load the Batch jobs
// page.
func (b *bench) latency(ctx context.Context, dir, dbName string, sl *testenv.SlapdServer, n int, floor *measurement) (*measurement, error) {
	url, drop, err := b.freshStore(ctx, dir, dbName, sl, n)
	if err != nil {
		return nil, err
	}
	defer drop()
	m, err := b.phase(ctx, url, phaseLatency, "(b) under page load", n, dbName, floor)
	if err != nil {
		return nil, err
	}
	l := m.Latency
	progress("N=%d %s: %s during (b): %d requests by %d clients, p50 %.1fms p99 %.1fms, errors %d; run %.1fs",
		n, dbName, l.Page, l.Requests, l.Clients, l.P50Millis, l.P99Millis, l.Errors, l.RunSeconds)
	return m, nil
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
	if kind == phaseImport {
		args = append(args, "-file", b.holders)
	}
	if b.o.profileDir != "" && !strings.HasPrefix(kind, "floor") {
		b.seq++
		base := filepath.Join(b.o.profileDir, fmt.Sprintf("%d-%s-%s-%d", n, dbName, strings.Trim(label[:3], "()"), b.seq))
		args = append(args, "-cpuprofile", base+".cpu.pprof", "-memprofile", base+".mem.pprof")
	}
	var pgBefore map[string]int64
	if dbName == "postgres" && (!strings.HasPrefix(kind, "floor") || kind == phaseFloorDeactivate) {
		var err error
		if pgBefore, err = pgTableWrites(ctx, url); err != nil {
			return nil, err
		}
	}
	load := loadAvg()
	dbCPU, ldapCPU := b.serverCPU(dbName)
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
		case runTables[table]:
			m.RunRecordRows += rows
		}
	}
	if m.WallSeconds > 0 {
		m.RowsPerSecond = float64(m.DataRows) / m.WallSeconds
	}
	_, ldapAfter := b.serverCPU(dbName)
	m.DirectoryCPUSeconds = ldapAfter - ldapCPU
	if pgBefore != nil {
		after, err := pgTableWrites(ctx, url)
		if err != nil {
			return nil, err
		}
		dbAfter, _ := b.serverCPU(dbName)
		m.DBServerCPUSeconds = dbAfter - dbCPU
		m.PGTableWrites = map[string]int64{}
		for t, v := range after {
			if d := v - pgBefore[t]; d != 0 {
				m.PGTableWrites[t] = d
			}
		}
	}
	m.countDataRowsByDatabase()
	if res.Status != "" && res.Status != "succeeded" {
		return nil, fmt.Errorf("phase %s: the run ended %s: %s", kind, res.Status, res.Message)
	}
	if !strings.HasPrefix(kind, "floor-") || kind == phaseFloorDeactivate {
		progress("N=%d %s: %s %.2fs, %d entries, %d data rows written, peak RSS %.1f MiB", n, dbName, label, m.WallSeconds, m.Entries, m.DataRows, m.PeakRSSMiB)
	}
	return m, nil
}

// dataTables are the tables a run writes for users and their holdings,
// and its per-user items; runTables (the run's own record, its progress,
// and the audit event of its start) are counted apart.
var (
	dataTables = map[string]bool{
		"users": true, "credentials": true, "certificates": true, "roles": true, "role_assignments": true,
		"run_items": true,
	}
	runTables = map[string]bool{"job_runs": true, "audit_events": true}
)

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

// countDataRowsByDatabase takes a run's data rows from the database's own
// count of rows written, which sees every statement (the GORM callbacks
// miss what the store runs as prepared statements): on PostgreSQL its
// per-table statistics, on SQLite total_changes() of the write connection
// less the run's own rows.
func (m *measurement) countDataRowsByDatabase() {
	if m.Kind != phaseActive && m.Kind != phaseInactive {
		return
	}
	switch {
	case m.PGTableWrites != nil:
		m.DataRows = 0
		for table, rows := range m.PGTableWrites {
			if dataTables[table] {
				m.DataRows += rows
			}
		}
	case m.SQLiteTotalChanges != nil:
		m.DataRows = *m.SQLiteTotalChanges - m.RunRecordRows
	}
	if m.WallSeconds > 0 {
		m.RowsPerSecond = float64(m.DataRows) / m.WallSeconds
	}
}

// serverCPU is the CPU time used so far by the PostgreSQL server (for
// postgres; SQLite runs in the phase's own process) and by slapd.
func (b *bench) serverCPU(dbName string) (db, ldap float64) {
	if dbName == "postgres" && b.pg != nil {
		db = processCPU(b.pg.Pid())
	}
	return db, statCPU(b.slapdPid, false)
}

func newKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("idm-bench: no randomness for the secret key")
	}
	return hex.EncodeToString(b), nil
}
