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
	phaseActive        = "active"
	phaseInactive      = "inactive"
	phaseLatency       = "active-latency"
)

// phaseResult is what a child reports on its standard output; the parent
// adds the peak resident memory from the child's rusage.
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
	// SQLiteTotalChanges is SQLite's total_changes() on the write
	// connection over the phase: every row written, all tables.
	SQLiteTotalChanges *int64         `json:"sqlite_total_changes,omitempty"`
	Latency            *latencyResult `json:"latency,omitempty"`
	Profiles           []string       `json:"profiles,omitempty"`
}

// rowCounter sums the rows written per table through GORM callbacks.
type rowCounter struct {
	mu   sync.Mutex
	rows map[string]int64
}

func (c *rowCounter) install(db *gorm.DB) error {
	c.rows = map[string]int64{}
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
	)
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
	if err := rc.install(db.Write); err != nil {
		return fmt.Errorf("phase: count rows: %w", err)
	}
	totalChanges := func() (int64, bool) {
		if db.Dialect != store.DialectSQLite {
			return 0, false
		}
		var n int64
		if err := db.Write.Raw("SELECT total_changes()").Scan(&n).Error; err != nil {
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
	case phaseFloorActive, phaseFloorInactive:
		err = measureFloor(ctx, db, box, *kind, &res)
	case phaseActive, phaseInactive:
		err = measureRun(ctx, db, box, domain.JobKey(*kind), &res)
	case phaseLatency:
		err = measureLatency(ctx, db, *dbURL, *clients, &res)
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
	filter := s.ActiveFilter
	if kind == phaseFloorInactive {
		filter = s.InactiveFilter
	}
	start := time.Now()
	n, err := floorRead(ctx, s.URL, s.BindDN, pw, filter, s.AttributeMap.Attributes(), s.PageSize)
	if err != nil {
		return err
	}
	res.WallSeconds, res.Entries = time.Since(start).Seconds(), n
	return nil
}

func measureRun(ctx context.Context, db *store.DB, box *secret.Box, key domain.JobKey, res *phaseResult) error {
	eng := engine.New(engine.Deps{
		DB: db, Dial: engine.DialDirectory, OpenSecret: box.Open, Instance: "idm-bench",
		Logger: slog.New(slog.DiscardHandler),
	})
	start := time.Now()
	run, err := eng.Run(ctx, key, engine.RunOptions{Trigger: domain.TriggerCLI, By: "idm-bench"})
	if err != nil {
		return err
	}
	res.WallSeconds = time.Since(start).Seconds()
	res.Entries, res.Status, res.Message, res.Counts = run.Read, string(run.Status), run.Message, &run.RunCounts
	return nil
}
