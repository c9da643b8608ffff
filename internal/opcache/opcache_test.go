package opcache_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/opcache"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestCache(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		clock := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
		c := opcache.New(db, time.UTC, now)

		if !c.LoadedAt().IsZero() {
			t.Fatal("LoadedAt before first use is not zero")
		}
		if stale, err := c.Stale(ctx); err != nil || stale {
			t.Fatalf("Stale before first use = %v, %v; want false, nil", stale, err)
		}

		// A burst of first requests loads once and sees one snapshot.
		var wg sync.WaitGroup
		snaps := make([]*opcache.Snapshot, 8)
		for i := range snaps {
			wg.Go(func() {
				s, err := c.Snapshot(ctx)
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
		s := snaps[0]
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

		t.Run("ClearReloadsAndAudits", func(t *testing.T) {
			advance(time.Minute)
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
			events, _, err := db.ListAudit(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) == 0 || events[0].Action != domain.AuditCacheClear || events[0].Actor != "olga" {
				t.Fatalf("newest audit event = %+v, want cache.clear by olga", events)
			}
		})

		t.Run("StaleAfterSettingsSave", func(t *testing.T) {
			st, err := db.LDAPSettings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			st.URL, st.BaseDN = "ldap://127.0.0.1:1389", "dc=example,dc=com"
			if _, err := db.SaveLDAPSettings(ctx, st, "alice"); err != nil {
				t.Fatal(err)
			}
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
		})

		t.Run("InvalidExpressionNoNextRun", func(t *testing.T) {
			j := opcache.Job{Enabled: true, ScheduleError: "bad"}
			if !j.NextRun(clock).IsZero() {
				t.Error("a job without a schedule has a next run")
			}
		})
	})
}
