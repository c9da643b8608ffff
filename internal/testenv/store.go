package testenv

import (
	"context"
	"testing"

	"idm/internal/domain"
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

// InsertRun records r as it is, in whatever state, without the store's
// checks: the fixture of a run left behind by another instance (running,
// with an old heartbeat or an owner that is gone) or of a finished one.
func InsertRun(tb testing.TB, db *store.DB, r *domain.Run) {
	tb.Helper()
	if err := db.Pools()[0].Create(r).Error; err != nil {
		tb.Fatalf("testenv: insert run %s: %v", r.ID, err)
	}
}

// HoldRunRow locks run id's row in a transaction on db's pool, as an
// instance frozen in the middle of a page transaction holds it, until
// release (or until another instance ends db's sessions).
func HoldRunRow(tb testing.TB, db *store.DB, id string) (release func()) {
	tb.Helper()
	tx := db.Pools()[0].Begin()
	if tx.Error != nil {
		tb.Fatalf("testenv: begin: %v", tx.Error)
	}
	var got []domain.Run
	if err := tx.Raw("SELECT * FROM job_runs WHERE id = ? FOR UPDATE", id).Scan(&got).Error; err != nil || len(got) != 1 {
		tx.Rollback()
		tb.Fatalf("testenv: lock run %s: %d rows, %v", id, len(got), err)
	}
	return func() { tx.Rollback() }
}

// EndSessions ends, as a kill -9 of its process would, every PostgreSQL
// session of the store handle that owns runs as owner (domain.Run.Owner),
// through db, and returns how many it ended.
func EndSessions(tb testing.TB, db *store.DB, owner string) int {
	tb.Helper()
	var n int
	err := db.Pools()[0].Raw("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ?", owner).Scan(&n).Error
	if err != nil {
		tb.Fatalf("testenv: end the sessions of %s: %v", owner, err)
	}
	return n
}

// WantDeactivated checks what deactivating user u does to u and to each of
// its credentials (DESIGN.md §2): u is inactive, still holds all its
// credentials (credentials of them), and each is in its type's deactivated
// state. What becomes of the certificates is the caller's to check.
func WantDeactivated(tb testing.TB, u *store.UserDetail, credentials int) {
	tb.Helper()
	if u.State != domain.UserInactive {
		tb.Errorf("%s: state %s, want inactive", u.Username, u.State)
	}
	if len(u.Credentials) != credentials {
		tb.Fatalf("%s: %d credentials, want the %d it held, still linked", u.Username, len(u.Credentials), credentials)
	}
	for _, c := range u.Credentials {
		want, _, err := domain.DeactivationTarget(c.Type)
		if err != nil {
			tb.Fatal(err)
		}
		if c.State != want {
			tb.Errorf("%s: %s %s is %s, want %s", u.Username, c.Type, c.Serial, c.State, want)
		}
	}
}
