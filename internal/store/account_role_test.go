package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// TestAccountRoleRule: the store changes a role by domain.CheckRoleChange
// for every entry point: not one's own, never the last enabled
// administrator's (a disabled one does not count), audited once; a refusal
// changes and audits nothing.
func TestAccountRoleRule(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		mustAccounts(t, db, map[string]domain.AccountRole{"alice": domain.RoleAdministrator, "olle": domain.RoleOperator, "dora": domain.RoleAdministrator})
		if err := db.SetAccountDisabled(ctx, "dora", true, "test"); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name        string
			account     string
			role        domain.AccountRole
			by          string
			code        string
			wantRole    domain.AccountRole
			wantAudited int64
		}{
			{"ErrOwnRole", "alice", domain.RoleOperator, "alice", domain.EINVALID, domain.RoleAdministrator, 0},
			{"ErrLastAdministrator", "alice", domain.RoleOperator, "cli:root", domain.ECONFLICT, domain.RoleAdministrator, 0},
			{"OKPromote", "olle", domain.RoleAdministrator, "alice", "", domain.RoleAdministrator, 1},
			{"OKSameRoleAuditsNothing", "olle", domain.RoleAdministrator, "alice", "", domain.RoleAdministrator, 1},
			{"OKDemoteWithAnotherAdministrator", "alice", domain.RoleOperator, "olle", "", domain.RoleOperator, 2},
			{"ErrLastAdministratorAgain", "olle", domain.RoleOperator, "cli:root", domain.ECONFLICT, domain.RoleAdministrator, 2},
			{"OKDisabledAdministratorDemoted", "dora", domain.RoleOperator, "cli:root", "", domain.RoleOperator, 3},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				err := db.SetAccountRole(ctx, st.account, st.role, st.by)
				if code := domain.ErrorCode(err); code != st.code {
					t.Fatalf("SetAccountRole(%s, %s) by %s = %v, want code %q", st.account, st.role, st.by, err, st.code)
				}
				if a, err := db.AccountByName(ctx, st.account); err != nil || a.Role != st.wantRole {
					t.Errorf("%s is %v (%v), want %s", st.account, a, err, st.wantRole)
				}
				if n := roleAudits(t, db); n != st.wantAudited {
					t.Errorf("%d role changes audited, want %d", n, st.wantAudited)
				}
			})
		}
	})
}

// TestAccountRoleDemotingEachOther: two administrators demoting each other
// at the same moment cannot both succeed; one administrator is left.
func TestAccountRoleDemotingEachOther(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		var previous []string
		for round := range 5 {
			a, b := fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)
			mustAccounts(t, db, map[string]domain.AccountRole{a: domain.RoleAdministrator, b: domain.RoleAdministrator})
			// Disable the previous round's pair (now that this round's
			// exist: the last administrator cannot be disabled), so that
			// this pair are the only enabled administrators.
			for _, name := range previous {
				if err := db.SetAccountDisabled(ctx, name, true, "test"); err != nil {
					t.Fatal(err)
				}
			}
			previous = []string{a, b}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, pair := range [][2]string{{a, b}, {b, a}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = db.SetAccountRole(ctx, pair[0], domain.RoleOperator, pair[1])
				}()
			}
			wg.Wait()
			codes := map[string]int{domain.ErrorCode(errs[0]): 1}
			codes[domain.ErrorCode(errs[1])]++
			if codes[""] != 1 || codes[domain.ECONFLICT] != 1 {
				t.Fatalf("round %d: %v, %v; want one demotion and one refusal as the last administrator", round, errs[0], errs[1])
			}
		}
	})
}

func mustAccounts(t *testing.T, db *store.DB, roles map[string]domain.AccountRole) {
	t.Helper()
	for name, role := range roles {
		if _, err := db.CreateAccount(context.Background(), name, role, "hash", "test"); err != nil {
			t.Fatal(err)
		}
	}
}

func roleAudits(t *testing.T, db *store.DB) int64 {
	t.Helper()
	_, n, err := db.FindAudit(context.Background(), store.AuditFilter{Action: domain.AuditAccountRole}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAccountDisableRule: disabling follows domain.CheckDisable: not one's
// own account, never the last enabled administrator; a refusal changes
// nothing.
func TestAccountDisableRule(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		mustAccounts(t, db, map[string]domain.AccountRole{"alice": domain.RoleAdministrator, "bob": domain.RoleAdministrator, "olle": domain.RoleOperator})
		for _, st := range []struct {
			name, account, by, code string
			wantDisabled            bool
		}{
			{"ErrOwnAccount", "alice", "alice", domain.EINVALID, false},
			{"OKAdministratorWithAnother", "bob", "alice", "", true},
			{"ErrLastAdministrator", "alice", "cli:root", domain.ECONFLICT, false},
			{"OKOperator", "olle", "cli:root", "", true},
		} {
			t.Run(st.name, func(t *testing.T) {
				err := db.SetAccountDisabled(ctx, st.account, true, st.by)
				if code := domain.ErrorCode(err); code != st.code {
					t.Fatalf("SetAccountDisabled(%s) by %s = %v, want code %q", st.account, st.by, err, st.code)
				}
				if a, err := db.AccountByName(ctx, st.account); err != nil || a.Disabled != st.wantDisabled {
					t.Errorf("%s is %+v (%v), want disabled %t", st.account, a, err, st.wantDisabled)
				}
			})
		}
		// Enabling is never refused: it adds an administrator back.
		if err := db.SetAccountDisabled(ctx, "bob", false, "cli:root"); err != nil {
			t.Fatal(err)
		}
	})
}
