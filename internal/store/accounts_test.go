package store_test

import (
	"context"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/testenv"
)

func TestAccounts(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)

		a, err := db.CreateAccount(ctx, "alice", domain.RoleAdministrator, "hash1", "test")
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		t.Run("ErrDuplicateName", func(t *testing.T) {
			_, err := db.CreateAccount(ctx, "alice", domain.RoleOperator, "hash2", "test")
			if domain.ErrorCode(err) != domain.ECONFLICT {
				t.Fatalf("duplicate create: %v, want conflict", err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			if _, err := db.AccountByName(ctx, "nobody"); domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Fatalf("AccountByName(nobody) = %v, want not found", err)
			}
		})
		t.Run("PasswordChangeEndsSessions", func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Second)
			s := &domain.Session{TokenHash: "h1", AccountID: a.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			if _, got, err := db.SessionAccount(ctx, "h1"); err != nil || got.Username != "alice" {
				t.Fatalf("SessionAccount = %v, %v", got, err)
			}
			if err := db.SetAccountPassword(ctx, "alice", "hash3", "test"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := db.SessionAccount(ctx, "h1"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
				t.Fatalf("session after password change: %v, want unauthorized", err)
			}
			got, _ := db.AccountByName(ctx, "alice")
			if got.PasswordHash != "hash3" {
				t.Fatalf("hash = %q", got.PasswordHash)
			}
		})
		t.Run("Audited", func(t *testing.T) {
			events, total, err := db.ListAudit(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if total < 2 || events[0].Action != domain.AuditAccountPassword || events[len(events)-1].Action != domain.AuditAccountCreate {
				t.Fatalf("audit = %d events %+v", total, events)
			}
		})
		t.Run("Disable", func(t *testing.T) {
			// Another administrator first: the last one cannot be disabled
			// (TestAccountDisableRule).
			if _, err := db.CreateAccount(ctx, "carol", domain.RoleAdministrator, "hash4", "test"); err != nil {
				t.Fatal(err)
			}
			if err := db.SetAccountDisabled(ctx, "alice", true, "test"); err != nil {
				t.Fatal(err)
			}
			got, _ := db.AccountByName(ctx, "alice")
			if !got.Disabled {
				t.Fatal("account not disabled")
			}
		})
	})
}

func TestSessionsExpire(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		a, err := db.CreateAccount(ctx, "bob", domain.RoleOperator, "h", "test")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		for _, s := range []domain.Session{
			{TokenHash: "fresh", LastSeenAt: now, ExpiresAt: now.Add(time.Hour)},
			{TokenHash: "idle", LastSeenAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
			{TokenHash: "old", LastSeenAt: now, ExpiresAt: now.Add(-time.Second)},
		} {
			s.AccountID, s.CreatedAt = a.ID, now.Add(-2*time.Hour)
			if err := db.CreateSession(ctx, &s); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.DeleteExpiredSessions(ctx, now, 30*time.Minute)
		if err != nil || n != 2 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 2", n, err)
		}
		if _, _, err := db.SessionAccount(ctx, "fresh"); err != nil {
			t.Fatalf("fresh session gone: %v", err)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		keys := []string{"account:eve"}
		for i := 0; i < 4; i++ {
			if err := db.RecordLoginFailure(ctx, keys, now, 15*time.Minute, 5, 15*time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if until, err := db.LoginBlockedUntil(ctx, keys, now); err != nil || !until.IsZero() {
			t.Fatalf("blocked after 4 failures: %v %v", until, err)
		}
		if err := db.RecordLoginFailure(ctx, keys, now, 15*time.Minute, 5, 15*time.Minute); err != nil {
			t.Fatal(err)
		}
		until, err := db.LoginBlockedUntil(ctx, keys, now)
		if err != nil || !until.Equal(now.Add(15*time.Minute)) {
			t.Fatalf("after 5 failures blocked until %v, %v", until, err)
		}
		if until, _ := db.LoginBlockedUntil(ctx, keys, now.Add(16*time.Minute)); !until.IsZero() {
			t.Fatalf("still blocked after the block ended: %v", until)
		}
		if err := db.ClearLoginFailures(ctx, keys); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSchemaSeedsBothJobs(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		db := testenv.MustOpenDB(t, url)
		jobs, err := db.ListJobs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := map[domain.JobKey]string{
			domain.JobActive:   "LDAPAddonBatchSyncSynchronizeInactiveLDAPUsersToIDMUsers",
			domain.JobInactive: "UsersAddonLDAPBatchSyncSynchronizeActiveLDAPUsersToIDMUsers",
		}
		if len(jobs) != 2 {
			t.Fatalf("%d jobs, want 2", len(jobs))
		}
		for _, j := range jobs {
			if j.SymbolicName != want[j.Key] || j.Component != "Identity Manager Admin" || j.ProcessStart != "Batch synchronization" || j.ExecutableFor != "Administrator" {
				t.Errorf("job %s = %+v", j.Key, j)
			}
		}
	})
}

// SessionAccount reads the session and its account in one query: every
// field the sign-in checks (expiry, last seen, disabled, role) must come back.
func TestSessionAccountFields(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		a, err := db.CreateAccount(ctx, "carol", domain.RoleAdministrator, "hash-c", "test")
		if err != nil {
			t.Fatal(err)
		}
		login := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
		if err := db.RecordLogin(ctx, a.ID, login); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		want := domain.Session{TokenHash: "tok", AccountID: a.ID, CreatedAt: now.Add(-time.Hour),
			LastSeenAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour), Flash: "Saved."}
		if err := db.CreateSession(ctx, &want); err != nil {
			t.Fatal(err)
		}
		t.Run("ReturnsBoth", func(t *testing.T) {
			s, got, err := db.SessionAccount(ctx, "tok")
			if err != nil {
				t.Fatal(err)
			}
			if s.TokenHash != want.TokenHash || s.AccountID != a.ID || s.Flash != "Saved." || !s.CreatedAt.Equal(want.CreatedAt) ||
				!s.LastSeenAt.Equal(want.LastSeenAt) || !s.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("session = %+v, want %+v", s, want)
			}
			if got.ID != a.ID || got.Username != "carol" || got.Role != domain.RoleAdministrator || got.PasswordHash != "hash-c" ||
				got.Disabled || got.LastLoginAt == nil || !got.LastLoginAt.Equal(login) || got.CreatedAt.IsZero() {
				t.Errorf("account = %+v", got)
			}
		})
		t.Run("DisabledAccountSaysSo", func(t *testing.T) {
			// Disabling ends the account's sessions; a session written
			// afterwards must still show the account as disabled. Another
			// administrator first: the last one cannot be disabled.
			if _, err := db.CreateAccount(ctx, "dave", domain.RoleAdministrator, "hash-d", "test"); err != nil {
				t.Fatal(err)
			}
			if err := db.SetAccountDisabled(ctx, "carol", true, "test"); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateSession(ctx, &domain.Session{TokenHash: "tok2", AccountID: a.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			_, got, err := db.SessionAccount(ctx, "tok2")
			if err != nil || !got.Disabled {
				t.Fatalf("SessionAccount = %+v, %v; want the account disabled", got, err)
			}
		})
		t.Run("ErrUnknownToken", func(t *testing.T) {
			if _, _, err := db.SessionAccount(ctx, "nope"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
				t.Fatalf("unknown token: %v, want unauthorized", err)
			}
		})
	})
}
