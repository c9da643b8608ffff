// Package store keeps the identity store, the job definitions and runs, the
// accounts and the settings in PostgreSQL or SQLite through GORM.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/libtnb/sqlite"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	dsnpkg "idm/internal/dsn"
	"idm/migrations"
)

// Dialects the store speaks.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// DB is an open store: the one place that speaks SQL. write is the handle
// for everything that changes data; read serves queries. On PostgreSQL both
// are one pool; on SQLite writes go through one connection (SQLite allows one
// writer) while reads use several, so that pages stay quick while a job
// writes (WAL mode).
type DB struct {
	write   *gorm.DB
	read    *gorm.DB
	Dialect string
	// Now is the clock; tests replace it.
	Now func() time.Time

	sqlDBs []*sql.DB

	// owner tags this handle's runs (domain.Run.Owner) and, on
	// PostgreSQL, every connection of its pool (application_name), so that
	// another instance can end this process's sessions when it finds it
	// frozen (see runs_owner.go).
	owner string
	// leases are the connections holding the liveness lock of this
	// handle's running runs, by run id (PostgreSQL only).
	leaseMu sync.Mutex
	leases  map[string]*sql.Conn
}

// gormConfig is the configuration of every pool.
func gormConfig() *gorm.Config {
	return &gorm.Config{
		TranslateError:         true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
	}
}

// Open opens the database named by url: postgres://… or postgresql://… for
// PostgreSQL; sqlite://PATH, file:PATH or a plain file path for SQLite. Its
// errors never show the URL's secrets (the driver's included).
func Open(ctx context.Context, url string) (*DB, error) {
	db, err := open(ctx, url)
	return db, dsnpkg.ScrubError(url, err)
}

func open(ctx context.Context, dsn string) (*DB, error) {
	db := &DB{Now: func() time.Time { return time.Now().UTC() }, owner: "idm-" + strings.ReplaceAll(NewID(), "-", "")[:16], leases: map[string]*sql.Conn{}}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		err = db.openPostgres(dsn)
	} else {
		err = db.openSQLite(dsn)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) openPostgres(dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("store: open postgres: %w", err)
	}
	// Every session of this handle carries its owner tag (runs_owner.go).
	cfg.RuntimeParams["application_name"] = db.owner
	sqlDB := stdlib.OpenDB(*cfg)
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gormConfig())
	if err != nil {
		_ = sqlDB.Close()
		return fmt.Errorf("store: open postgres: %w", err)
	}
	// As many idle as open: under load a smaller idle limit closes and
	// reopens connections, each a new PostgreSQL backend (measured: the
	// Operator page's p99 during a sync fell from ~350 to ~80 ms).
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(20)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	db.write, db.read, db.Dialect, db.sqlDBs = g, g, DialectPostgres, []*sql.DB{sqlDB}
	return nil
}

func (db *DB) openSQLite(dsn string) error {
	path, err := SQLitePath(dsn)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("store: create database directory: %w", err)
	}
	conn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db.Dialect = DialectSQLite
	if db.write, err = db.openSQLitePool(conn, 1, false); err != nil {
		return fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if db.read, err = db.openSQLitePool(conn, 4, true); err != nil {
		return fmt.Errorf("store: open sqlite %s for reading: %w", path, err)
	}
	return nil
}

// openSQLitePool opens one pool of at most maxOpen connections and keeps
// it for Close. With prepared set, the pool keeps its statements prepared
// (the most recently used few hundred): SQLite compiles a statement on
// every execution otherwise, and the reader's statements are the same few
// on every poll of the Operator pages (measured during a sync of 100,000
// entries with 20 clients polling: compiling was a third of the process's
// CPU). The writer's statements are mostly multi-row inserts of varying
// length, and its transactions would prepare each one again anyway.
func (db *DB) openSQLitePool(conn string, maxOpen int, prepared bool) (*gorm.DB, error) {
	cfg := gormConfig()
	if prepared {
		cfg.PrepareStmt, cfg.PrepareStmtMaxSize = true, 256
	}
	g, err := gorm.Open(sqlite.Open(conn), cfg)
	if err != nil {
		return nil, err
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	db.sqlDBs = append(db.sqlDBs, sqlDB)
	return g, nil
}

// Pools returns the GORM pools, the writer first and then the reader when it
// is a separate pool. It is for the few packages allowed to see GORM that
// measure the store from outside (internal/testenv's statement log, the
// benchmark's row counter and set-up); everything else goes through the
// store's methods (make lint checks this).
func (db *DB) Pools() []*gorm.DB {
	if db.read == db.write {
		return []*gorm.DB{db.write}
	}
	return []*gorm.DB{db.write, db.read}
}

// SQLitePath extracts the file path from a SQLite database URL.
func SQLitePath(dsn string) (string, error) {
	path := dsn
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		path = strings.TrimPrefix(dsn, "sqlite://")
	case strings.HasPrefix(dsn, "sqlite:"):
		path = strings.TrimPrefix(dsn, "sqlite:")
	case strings.HasPrefix(dsn, "file:"):
		path = strings.TrimPrefix(dsn, "file:")
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" || strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "sqlite://") {
		return "", fmt.Errorf("store: unsupported database URL %q: use postgres://… or sqlite://PATH", dsnpkg.Redact(dsn))
	}
	if dsnpkg.IsKeywordValue(dsn) {
		return "", fmt.Errorf("store: %w", dsnpkg.ErrKeywordValue)
	}
	return path, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	for _, s := range db.sqlDBs {
		if err := s.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping: %w", err)
		}
	}
	return nil
}

// SQL returns the writer's *sql.DB (for migrations, locks, metrics).
func (db *DB) SQL() *sql.DB { return db.sqlDBs[0] }

// Close closes every pool, after the connections holding run leases (their
// runs then count as dead to the other instances).
func (db *DB) Close() error {
	var errs []error
	db.leaseMu.Lock()
	for id, conn := range db.leases {
		discard(conn)
		delete(db.leases, id)
	}
	db.leaseMu.Unlock()
	for _, s := range db.sqlDBs {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// Migrate applies every pending migration. On PostgreSQL a session advisory
// lock serialises instances that start at the same time.
func (db *DB) Migrate(ctx context.Context) error {
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.Dialect == DialectPostgres {
		dialect = goose.DialectPostgres
		// Instances of a cluster that start together wait for each other:
		// every second, rather than goose's default of every five.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("store: migration locker: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.SQL(), migrations.FS, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, r := range results {
		slog.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// NewID makes a new identifier for a row: a UUID of version 7, ordered by
// time (each index on an id takes new rows at its end) and otherwise
// random.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// The identifiers' random bits are taken from a buffer of crypto/rand
// bytes refilled 256 bytes at a time, instead of a read of the system's
// source for each: the import makes ten identifiers a holder. They are
// not secrets (an API token's secret is its own crypto/rand bytes, stored
// hashed).
func init() { uuid.EnableRandPool() }
