package testenv

import (
	"context"
	"testing"

	"idm/internal/dsn"
	"idm/internal/store"
)

// MustOpenDB opens the database at url, applies the migrations, and closes
// it when the test ends.
func MustOpenDB(tb testing.TB, url string) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatalf("open %s: %v", dsn.Redact(url), err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s: %v", dsn.Redact(url), err)
	}
	return db
}
