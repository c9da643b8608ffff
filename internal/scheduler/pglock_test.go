package scheduler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"idm/internal/scheduler"
	"idm/internal/testenv"
)

func TestPGLocker(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	ctx := context.Background()
	// Two pools, as two instances would have.
	a := scheduler.NewPGLocker(testenv.MustOpenDB(t, url).SQL())
	b := scheduler.NewPGLocker(testenv.MustOpenDB(t, url).SQL())

	lockA, err := a.Lock(ctx, "active")
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}

	t.Run("ErrLockedByOtherInstance", func(t *testing.T) {
		if _, err := b.Lock(ctx, "active"); !errors.Is(err, scheduler.ErrLocked) {
			t.Errorf("second instance's lock: err = %v, want ErrLocked", err)
		}
	})
	t.Run("ErrLockedBySameInstance", func(t *testing.T) {
		// Each lock pins its own session, so the same pool is refused too.
		if _, err := a.Lock(ctx, "active"); !errors.Is(err, scheduler.ErrLocked) {
			t.Errorf("err = %v, want ErrLocked", err)
		}
	})
	t.Run("OtherKeyIndependent", func(t *testing.T) {
		l, err := b.Lock(ctx, "inactive")
		if err != nil {
			t.Fatalf("lock another key: %v", err)
		}
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("UnlockWithCancelledContextReleases", func(t *testing.T) {
		// gocron hands Unlock the job's context, cancelled when a save
		// replaced the job during its run.
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if err := lockA.Unlock(cancelled); err != nil {
			t.Fatalf("unlock: %v", err)
		}
		l, err := b.Lock(ctx, "active")
		if err != nil {
			t.Fatalf("lock after unlock: %v", err)
		}
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("CrashedSessionReleases", func(t *testing.T) {
		// A crashed instance's sessions end, and its locks with them.
		db := testenv.MustOpenDB(t, url)
		if _, err := scheduler.NewPGLocker(db.SQL()).Lock(ctx, "active"); err != nil {
			t.Fatal(err)
		}
		admin := testenv.MustOpenDB(t, url).SQL()
		var killed int
		err := admin.QueryRowContext(ctx,
			"SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1", 0x69646d).Scan(&killed)
		if err != nil || killed != 1 {
			t.Fatalf("terminate the lock holder: %d sessions, %v", killed, err)
		}
		var l interface{ Unlock(context.Context) error }
		waitFor(t, 5*time.Second, "the lock to be released", func() bool {
			var err error
			l, err = b.Lock(ctx, "active")
			return err == nil
		})
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
