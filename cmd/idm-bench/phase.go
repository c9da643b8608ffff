package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/secret"
	"idm/internal/store"
)

// Phases a child process measures.
const (
	phaseFloorActive   = "floor-active"
	phaseFloorInactive = "floor-inactive"
	// phaseFloorCount reads the active filter's result for no attributes,
	// as the active job's count before its write pass does.
	phaseFloorCount = "floor-count"
	// The same reads of each filter through the product's reader.
	phaseFloorStreamActive   = "floor-stream-active"
	phaseFloorStreamInactive = "floor-stream-inactive"
	phaseActive              = "active"
	phaseInactive            = "inactive"
	phaseLatency             = "active-latency"
)

// phaseResult is what a child reports on its standard output, its own peak
// resident memory included; the parent adds the CPU time from rusage.
type phaseResult struct {
	Kind        string            `json:"kind"`
	WallSeconds float64           `json:"wall_seconds"`
	Entries     int               `json:"entries"`
	Status      string            `json:"status,omitempty"`
	Message     string            `json:"message,omitempty"`
	Counts      *domain.RunCounts `json:"counts,omitempty"`
	// RowsByTable counts the rows each table had inserted, updated or
	// deleted, from GORM's RowsAffected after every write statement.
	RowsByTable map[string]int64 `json:"rows_by_table,omitempty"`
	// DBTime is the time spent in the database per kind of statement and
	// table (wall time of the calls, from GORM callbacks).
	DBTime map[string]stmtTime `json:"db_time,omitempty"`
	// SQLiteTotalChanges is SQLite's total_changes() on the write
	// connection over the phase: every row written, all tables.
	SQLiteTotalChanges *int64         `json:"sqlite_total_changes,omitempty"`
	Latency            *latencyResult `json:"latency,omitempty"`
	Profiles           []string       `json:"profiles,omitempty"`
	// PeakRSSKiB is the child's own high-water mark of resident memory
	// (VmHWM). rusage's Maxrss cannot serve: on Linux it also counts the
	// pages the child shared with the bench process between fork and exec.
	PeakRSSKiB int64 `json:"peak_rss_kib"`
}

// ownPeakRSS reads this process's resident-memory high-water mark in KiB
// from /proc/self/status; exec starts it afresh, so it is this phase's own.
func ownPeakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read /proc/self/status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", rest, err)
			}
			return kib, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// rowCounter sums the rows written per table, and the time spent in each
// kind of statement, through GORM callbacks.
type rowCounter struct {
	mu   sync.Mutex
	rows map[string]int64
	time map[string]*stmtTime
}

// stmtTime is the time spent in one kind of statement on one table.
type stmtTime struct {
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
}

const startKey = "bench:start"

func (c *rowCounter) install(dbs ...*gorm.DB) error {
	c.rows, c.time = map[string]int64{}, map[string]*stmtTime{}
	var errs []error
	for _, db := range dbs {
		errs = append(errs, c.installOn(db))
	}
	return errors.Join(errs...)
}

func (c *rowCounter) installOn(db *gorm.DB) error {
	begin := func(tx *gorm.DB) { tx.InstanceSet(startKey, time.Now()) }
	timed := func(kind string) func(*gorm.DB) {
		return func(tx *gorm.DB) {
			v, ok := tx.InstanceGet(startKey)
			if !ok || tx.Statement == nil {
				return
			}
			key := kind + " " + tx.Statement.Table + ": " + shape(tx.Statement.SQL.String())
			c.mu.Lock()
			t := c.time[key]
			if t == nil {
				t = &stmtTime{}
				c.time[key] = t
			}
			t.Count++
			t.Seconds += time.Since(v.(time.Time)).Seconds()
			c.mu.Unlock()
		}
	}
	count := func(kind string) func(*gorm.DB) {
		return func(tx *gorm.DB) {
			if tx.Error != nil || tx.Statement == nil || tx.RowsAffected <= 0 {
				return
			}
			table := tx.Statement.Table
			if table == "" {
				table = "(" + kind + ")"
			}
			c.mu.Lock()
			c.rows[table] += tx.RowsAffected
			c.mu.Unlock()
		}
	}
	cb := db.Callback()
	return errors.Join(
		cb.Create().After("gorm:create").Register("bench:rows", count("create")),
		cb.Update().After("gorm:update").Register("bench:rows", count("update")),
		cb.Delete().After("gorm:delete").Register("bench:rows", count("delete")),
		cb.Raw().After("gorm:raw").Register("bench:rows", count("exec")),
		cb.Create().Before("gorm:create").Register("bench:t0", begin),
		cb.Create().After("gorm:create").Register("bench:t1", timed("insert")),
		cb.Update().Before("gorm:update").Register("bench:t0", begin),
		cb.Update().After("gorm:update").Register("bench:t1", timed("update")),
		cb.Delete().Before("gorm:delete").Register("bench:t0", begin),
		cb.Delete().After("gorm:delete").Register("bench:t1", timed("delete")),
		cb.Query().Before("gorm:query").Register("bench:t0", begin),
		cb.Query().After("gorm:query").Register("bench:t1", timed("select")),
		cb.Row().Before("gorm:row").Register("bench:t0", begin),
		cb.Row().After("gorm:row").Register("bench:t1", timed("row")),
		cb.Raw().Before("gorm:raw").Register("bench:t0", begin),
		cb.Raw().After("gorm:raw").Register("bench:t1", timed("exec")),
	)
}

func (c *rowCounter) times() map[string]stmtTime {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]stmtTime, len(c.time))
	for k, v := range c.time {
		out[k] = *v
	}
	return out
}

func (c *rowCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.rows))
	for k, v := range c.rows {
		out[k] = v
	}
	return out
}

// runPhase is the child process: it measures one phase against the store
// at -db and prints a phaseResult as JSON.
func runPhase(args []string) error {
	fs := flag.NewFlagSet("idm-bench phase", flag.ContinueOnError)
	kind := fs.String("kind", "", "floor-active, floor-inactive, active, inactive or active-latency")
	dbURL := fs.String("db", "", "database URL")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the phase to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the phase to this file")
	clients := fs.Int("clients", 20, "concurrent page clients (active-latency)")
	think := fs.Duration("think", 0, "pause of each page client between requests (active-latency)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := hex.DecodeString(os.Getenv(envKey))
	if err != nil {
		return fmt.Errorf("phase: %s: %w", envKey, err)
	}
	box, err := secret.New(key)
	if err != nil {
		return err
	}
	ctx := context.Background()
	db, err := store.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	var rc rowCounter
	if err := rc.install(db.Pools()...); err != nil {
		return fmt.Errorf("phase: count rows: %w", err)
	}
	totalChanges := func() (int64, bool) {
		if db.Dialect != store.DialectSQLite {
			return 0, false
		}
		var n int64
		if err := db.Pools()[0].Raw("SELECT total_changes()").Scan(&n).Error; err != nil {
			return 0, false
		}
		return n, true
	}
	changesBefore, _ := totalChanges()

	res := phaseResult{Kind: *kind}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		res.Profiles = append(res.Profiles, *cpuProfile)
	}
	switch *kind {
	case phaseFloorActive, phaseFloorInactive, phaseFloorCount, phaseFloorStreamActive, phaseFloorStreamInactive:
		err = measureFloor(ctx, db, box, *kind, &res)
	case phaseActive, phaseInactive:
		peak := ""
		if *memProfile != "" {
			peak = strings.TrimSuffix(*memProfile, ".mem.pprof") + ".peak.pprof"
		}
		err = measureRun(ctx, db, box, domain.JobKey(*kind), peak, &res)
	case phaseLatency:
		err = measureLatency(ctx, db, *dbURL, *clients, *think, &res)
	default:
		err = fmt.Errorf("phase: unknown kind %q", *kind)
	}
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
		f.Close()
		res.Profiles = append(res.Profiles, *memProfile)
	}
	if after, ok := totalChanges(); ok {
		d := after - changesBefore
		res.SQLiteTotalChanges = &d
	}
	res.RowsByTable = rc.snapshot()
	res.DBTime = rc.times()
	peak, err := ownPeakRSS()
	if err != nil {
		return err
	}
	res.PeakRSSKiB = peak
	return json.NewEncoder(os.Stdout).Encode(res)
}

func measureFloor(ctx context.Context, db *store.DB, box *secret.Box, kind string, res *phaseResult) error {
	s, err := db.LDAPSettings(ctx)
	if err != nil {
		return err
	}
	pw, err := box.Open(s.BindPasswordEnc)
	if err != nil {
		return err
	}
	filter, attrs := s.ActiveFilter, s.AttributeMap.Attributes()
	switch kind {
	case phaseFloorInactive, phaseFloorStreamInactive:
		filter = s.InactiveFilter
	case phaseFloorCount:
		attrs = []string{"1.1"}
	}
	start := time.Now()
	var n int
	if strings.HasPrefix(kind, "floor-stream") {
		n, err = streamFloor(ctx, s, pw, filter)
	} else {
		n, err = floorRead(ctx, s.URL, s.BindDN, pw, filter, attrs, s.PageSize)
	}
	if err != nil {
		return err
	}
	res.WallSeconds, res.Entries = time.Since(start).Seconds(), n
	return nil
}

// measureRun runs job key once. With peakProfile, it writes the live heap
// when the run has read nine tenths of its entries: what a run holds near
// its peak (the profile at the end shows only what outlives the run).
func measureRun(ctx context.Context, db *store.DB, box *secret.Box, key domain.JobKey, peakProfile string, res *phaseResult) error {
	eng := engine.New(engine.Deps{
		DB: db, Dial: engine.DialDirectory, OpenSecret: box.Open, Instance: "idm-bench",
		Logger: slog.New(slog.DiscardHandler),
	})
	opts := engine.RunOptions{Trigger: domain.TriggerCLI, By: "idm-bench"}
	if peakProfile != "" {
		written := false
		opts.Progress = func(r domain.Run) {
			if written || r.ExpectedTotal == 0 || r.Read*10 < r.ExpectedTotal*9 {
				return
			}
			written = true
			if f, err := os.Create(peakProfile); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
				res.Profiles = append(res.Profiles, peakProfile)
			}
		}
	}
	start := time.Now()
	run, err := eng.Run(ctx, key, opts)
	if err != nil {
		return err
	}
	res.WallSeconds = time.Since(start).Seconds()
	res.Entries, res.Status, res.Message, res.Counts = run.Read, string(run.Status), run.Message, &run.RunCounts
	return nil
}

// shape shortens a statement to what tells it apart from the others on the
// same table: up to its first parameter list.
func shape(sql string) string {
	for _, cut := range []string{" IN (", " VALUES ", "($1", "(?"} {
		if i := strings.Index(sql, cut); i >= 0 {
			sql = sql[:i]
		}
	}
	if len(sql) > 120 {
		sql = sql[:120]
	}
	return sql
}
