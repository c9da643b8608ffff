package testenv

import (
	"context"
	"testing"

	"idm/internal/domain"
	"idm/internal/store"
)

// MustOpenDB opens the database at url, applies the migrations, and closes
// it when the test ends.
func MustOpenDB(tb testing.TB, url string) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatalf("open %s: %v", store.Redact(url), err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s: %v", store.Redact(url), err)
	}
	return db
}

// InsertRun records r as it is, in whatever state, without the store's
// checks: the fixture of a run left behind by another instance (running,
// with an old heartbeat or an owner that is gone) or of a finished one.
func InsertRun(tb testing.TB, db *store.DB, r *domain.Run) {
	tb.Helper()
	if err := db.Pools()[0].Create(r).Error; err != nil {
		tb.Fatalf("testenv: insert run %s: %v", r.ID, err)
	}
}
