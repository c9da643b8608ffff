package opcache_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/opcache"
	"idm/internal/store"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// cacheEnv is a cache over a fresh store, on a clock the test moves.
type cacheEnv struct {
	db *store.DB
	c  *opcache.Cache

	mu    sync.Mutex
	clock time.Time
}

func (e *cacheEnv) now() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.clock }

func (e *cacheEnv) advance(d time.Duration) { e.mu.Lock(); e.clock = e.clock.Add(d); e.mu.Unlock() }

func TestCache(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := &cacheEnv{db: testenv.MustOpenDB(t, url), clock: time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)}
		e.c = opcache.New(e.db, time.UTC, e.now)
		db, c, clock := e.db, e.c, e.now()

		if !c.LoadedAt().IsZero() {
			t.Fatal("LoadedAt before first use is not zero")
		}
		if stale, err := c.Stale(ctx); err != nil || stale {
			t.Fatalf("Stale before first use = %v, %v; want false, nil", stale, err)
		}
		s := firstUse(t, c)
		if !s.LoadedAt.Equal(clock) || !c.LoadedAt().Equal(clock) {
			t.Errorf("LoadedAt = %v, want %v", s.LoadedAt, clock)
		}
		active, err := s.Job(domain.JobActive)
		if err != nil {
			t.Fatal(err)
		}
		if active.Expression != "0 2 * * *" || active.Enabled || active.ProcessName != "Synchronize active LDAP Users to Identity Manager" {
			t.Errorf("cached active job = %+v", active)
		}
		if !active.NextRun(clock).IsZero() {
			t.Errorf("a disabled job has a next run: %v", active.NextRun(clock))
		}

		t.Run("StaleAfterJobSave", func(t *testing.T) {
			if _, err := db.SaveJobSchedule(ctx, domain.JobActive, "15 4 * * *", true, active.Version, "alice"); err != nil {
				t.Fatal(err)
			}
			if stale, err := c.Stale(ctx); err != nil || !stale {
				t.Fatalf("Stale after a save = %v, %v; want true", stale, err)
			}
			if loaded, stale := c.Status(ctx); !stale || !loaded.Equal(clock) {
				t.Errorf("Status = %v, %v; want %v, true", loaded, stale, clock)
			}
			again, _ := c.Snapshot(ctx)
			if j, _ := again.Job(domain.JobActive); j.Expression != "0 2 * * *" {
				t.Errorf("the cache shows %q before Clear, want the old expression", j.Expression)
			}
		})
		t.Run("ClearReloadsAndAudits", e.clearReloadsAndAudits)
		t.Run("StaleAfterSettingsSave", e.staleAfterSettingsSave)
		t.Run("StaleCheckedAtMostEverySecond", e.staleCheckedAtMostEverySecond)
		t.Run("InvalidExpressionNoNextRun", func(t *testing.T) {
			j := opcache.Job{Enabled: true, ScheduleError: "bad"}
			if !j.NextRun(clock).IsZero() {
				t.Error("a job without a schedule has a next run")
			}
		})
	})
}

// firstUse checks that a burst of first requests loads once and sees one
// snapshot, and returns it.
func firstUse(t *testing.T, c *opcache.Cache) *opcache.Snapshot {
	t.Helper()
	var wg sync.WaitGroup
	snaps := make([]*opcache.Snapshot, 8)
	for i := range snaps {
		wg.Go(func() {
			s, err := c.Snapshot(context.Background())
			if err != nil {
				t.Error(err)
			}
			snaps[i] = s
		})
	}
	wg.Wait()
	for _, s := range snaps[1:] {
		if s != snaps[0] {
			t.Fatal("concurrent first use loaded more than once")
		}
	}
	return snaps[0]
}

func (e *cacheEnv) clearReloadsAndAudits(t *testing.T) {
	ctx, c := context.Background(), e.c
	e.advance(time.Minute)
	clock := e.now()
	s, err := c.Clear(ctx, "olga")
	if err != nil {
		t.Fatal(err)
	}
	j, _ := s.Job(domain.JobActive)
	if j.Expression != "15 4 * * *" || !j.Enabled {
		t.Errorf("after Clear the job is %q enabled=%t", j.Expression, j.Enabled)
	}
	if want := time.Date(2030, 3, 4, 4, 15, 0, 0, time.UTC).AddDate(0, 0, 1); !j.NextRun(clock).Equal(want) {
		t.Errorf("NextRun = %v, want %v", j.NextRun(clock), want)
	}
	if !c.LoadedAt().Equal(clock) {
		t.Errorf("LoadedAt = %v, want %v", c.LoadedAt(), clock)
	}
	if stale, err := c.Stale(ctx); err != nil || stale {
		t.Errorf("Stale after Clear = %v, %v", stale, err)
	}
	events, _, err := e.db.ListAudit(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || events[0].Action != domain.AuditCacheClear || events[0].Actor != "olga" {
		t.Fatalf("newest audit event = %+v, want cache.clear by olga", events)
	}
}

func (e *cacheEnv) staleAfterSettingsSave(t *testing.T) {
	ctx, c := context.Background(), e.c
	st, err := e.db.LDAPSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.URL, st.BaseDN = "ldap://127.0.0.1:1389", "dc=example,dc=com"
	if _, err := e.db.SaveLDAPSettings(ctx, st, "alice"); err != nil {
		t.Fatal(err)
	}
	c.Changed() // as internal/admin's save does
	if stale, err := c.Stale(ctx); err != nil || !stale {
		t.Fatalf("Stale after a settings save = %v, %v; want true", stale, err)
	}
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	s, _ := c.Snapshot(ctx)
	if !s.Settings.Configured || s.Settings.URL != "ldap://127.0.0.1:1389" {
		t.Errorf("settings after Reload = %+v", s.Settings)
	}
	if stale, _ := c.Stale(ctx); stale {
		t.Error("stale after Reload")
	}
}

// staleCheckedAtMostEverySecond: Stale asks the database at most once a
// second (every open Batch jobs page polls it), unless Changed says a save
// was made; a stale answer holds until the next load.
func (e *cacheEnv) staleCheckedAtMostEverySecond(t *testing.T) {
	ctx, c := context.Background(), e.c
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if stale, err := c.Stale(ctx); err != nil || stale {
		t.Fatalf("Stale after Reload = %v, %v", stale, err)
	}
	saveSchedule := func(expr string) {
		t.Helper()
		j, err := e.db.GetJob(ctx, domain.JobInactive)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.SaveJobSchedule(ctx, domain.JobInactive, expr, false, j.Version, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	saveSchedule("5 1 * * *") // a save nobody announced
	e.advance(999 * time.Millisecond)
	if stale, _ := c.Stale(ctx); stale {
		t.Fatal("Stale asked the database again within a second")
	}
	e.advance(time.Millisecond)
	if stale, _ := c.Stale(ctx); !stale {
		t.Fatal("Stale a second after an unannounced save = false, want true")
	}
	e.advance(time.Hour)
	if stale, _ := c.Stale(ctx); !stale {
		t.Fatal("a stale answer did not hold until the next load")
	}

	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if stale, _ := c.Stale(ctx); stale {
		t.Fatal("stale after Reload")
	}
	saveSchedule("10 1 * * *")
	c.Changed() // an announced save: no waiting
	if stale, _ := c.Stale(ctx); !stale {
		t.Fatal("Stale after Changed = false, want true at once")
	}
}
