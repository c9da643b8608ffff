package testenv

import (
	"context"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/logger"

	"idm/internal/store"
)

// TerminateListeners ends every PostgreSQL connection of db's server that
// waits in LISTEN, as a network fault would: for tests of reconnecting.
func TerminateListeners(tb testing.TB, db *store.DB) {
	tb.Helper()
	_, err := db.SQL().Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
	if err != nil {
		tb.Fatalf("testenv: terminate listeners: %v", err)
	}
}

// StatementLog records every SQL statement a store runs, for tests that
// count what a page costs.
type StatementLog struct {
	logger.Interface
	mu   sync.Mutex
	sqls []string
}

// LogStatements installs a statement log on every pool of db. Install it
// before the code under test starts: the pools' logger is not guarded.
func LogStatements(db *store.DB) *StatementLog {
	l := &StatementLog{Interface: logger.Discard}
	for _, p := range db.Pools() {
		p.Logger = l
	}
	return l
}

// Trace records one statement.
func (l *StatementLog) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	l.mu.Lock()
	l.sqls = append(l.sqls, sql)
	l.mu.Unlock()
}

// LogMode keeps the log as it is.
func (l *StatementLog) LogMode(logger.LogLevel) logger.Interface { return l }

// Since returns the statements after the first n.
func (l *StatementLog) Since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.sqls[n:]...)
}

// Len is how many statements were recorded.
func (l *StatementLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sqls)
}
