package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// tokenEnv is the token service over a fresh database with an account
// "svc" (operator) and a clock the test moves.
type tokenEnv struct {
	db     *store.DB
	tokens *auth.Tokens
	now    time.Time
}

func newTokenEnv(t *testing.T, url string) *tokenEnv {
	t.Helper()
	e := &tokenEnv{db: testenv.MustOpenDB(t, url), now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	e.db.Now = func() time.Time { return e.now }
	e.tokens = auth.NewTokens(e.db, func() time.Time { return e.now })
	if _, err := e.db.CreateAccount(context.Background(), "svc", domain.RoleOperator, "x", "test"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *tokenEnv) create(t *testing.T, name, expires string) (string, *domain.APIToken) {
	t.Helper()
	plain, tok, err := e.tokens.Create(context.Background(), "svc", name, expires, "cli:root")
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return plain, tok
}

// tokenLifecycle is one token, "deploy" of account svc, created to expire
// in 30 days; its steps run in order on one database and one clock.
type tokenLifecycle struct {
	*tokenEnv
	plain string
	tok   *domain.APIToken
}

func TestTokenLifecycle(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newTokenEnv(t, url)
		plain, tok := e.create(t, "deploy", "30d")
		lc := &tokenLifecycle{tokenEnv: e, plain: plain, tok: tok}
		for _, step := range []struct {
			name string
			run  func(*testing.T)
		}{
			{"Format", lc.format},
			{"OKAuthenticateTouchesOncePerMinute", lc.touchesOncePerMinute},
			{"ErrNotAToken", lc.notAToken},
			{"ErrUnknown", lc.unknown},
			{"ErrExpired", lc.expired},
			{"ErrRevoked", lc.revoked},
			{"ErrRevokeUnknown", lc.revokeUnknown},
			{"DisablingTheAccountRevokesForGood", lc.disablingRevokes},
			{"List", lc.list},
		} {
			t.Run(step.name, step.run)
		}
	})
}

// format: the token is idm_ and 43 characters, stored only as its hash.
func (lc *tokenLifecycle) format(t *testing.T) {
	if !strings.HasPrefix(lc.plain, "idm_") || len(lc.plain) != 47 {
		t.Fatalf("token %q", lc.plain)
	}
	if lc.tok.TokenHash == lc.plain || lc.tok.TokenHash != auth.HashToken(lc.plain) {
		t.Fatal("the stored hash is not the token's SHA-256")
	}
	if !lc.tok.ExpiresAt.Equal(lc.now.Add(30 * 24 * time.Hour)) {
		t.Fatalf("expires %v", lc.tok.ExpiresAt)
	}
}

// touchesOncePerMinute: use within a minute of the last recorded use
// writes nothing; later use records the time.
func (lc *tokenLifecycle) touchesOncePerMinute(t *testing.T) {
	ctx := context.Background()
	got, acct, err := lc.tokens.Authenticate(ctx, lc.plain)
	if err != nil || got.ID != lc.tok.ID || acct.Username != "svc" {
		t.Fatalf("authenticate: %v %v %v", got, acct, err)
	}
	first := lc.now
	lc.now = lc.now.Add(30 * time.Second)
	if _, _, err := lc.tokens.Authenticate(ctx, lc.plain); err != nil {
		t.Fatal(err)
	}
	if d := lc.lastUsed(t, lc.tok.ID); !d.Equal(first) {
		t.Fatalf("last used %v after 30 s, want %v (no write)", d, first)
	}
	lc.now = lc.now.Add(31 * time.Second)
	if _, _, err := lc.tokens.Authenticate(ctx, lc.plain); err != nil {
		t.Fatal(err)
	}
	if d := lc.lastUsed(t, lc.tok.ID); !d.Equal(lc.now) {
		t.Fatalf("last used %v after 61 s, want %v", d, lc.now)
	}
}

func (lc *tokenLifecycle) notAToken(t *testing.T) {
	plain := lc.plain
	for _, bad := range []string{"", "idm_", "Bearer " + plain, plain + "x", strings.Replace(plain, "idm_", "idx_", 1), plain[:46] + "\x00"} {
		if _, _, err := lc.tokens.Authenticate(context.Background(), bad); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

func (lc *tokenLifecycle) unknown(t *testing.T) {
	other := "idm_" + strings.Repeat("A", 43)
	if _, _, err := lc.tokens.Authenticate(context.Background(), other); !strings.Contains(domain.ErrorMessage(err), "not known") {
		t.Fatalf("unknown token: %v", err)
	}
}

func (lc *tokenLifecycle) expired(t *testing.T) {
	short, _ := lc.create(t, "short", "1h")
	lc.now = lc.now.Add(time.Hour)
	if _, _, err := lc.tokens.Authenticate(context.Background(), short); !strings.Contains(domain.ErrorMessage(err), "expired") {
		t.Fatalf("expired token: %v", err)
	}
}

func (lc *tokenLifecycle) revoked(t *testing.T) {
	ctx := context.Background()
	rev, rtok := lc.create(t, "revoke-me", "")
	if _, err := lc.tokens.Revoke(ctx, rtok.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := lc.tokens.Authenticate(ctx, rev); !strings.Contains(domain.ErrorMessage(err), "revoked") {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := lc.tokens.Revoke(ctx, rtok.ID, "alice"); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("second revoke: %v", err)
	}
}

func (lc *tokenLifecycle) revokeUnknown(t *testing.T) {
	for _, id := range []string{"", "nope", "a\x00", strings.Repeat("a", 37)} {
		if _, err := lc.tokens.Revoke(context.Background(), id, "alice"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("revoke %q: %v", id, err)
		}
	}
}

// disablingRevokes: enabling the account again does not bring its tokens back.
func (lc *tokenLifecycle) disablingRevokes(t *testing.T) {
	ctx := context.Background()
	if err := lc.db.SetAccountDisabled(ctx, "svc", true, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := lc.db.SetAccountDisabled(ctx, "svc", false, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := lc.tokens.Authenticate(ctx, lc.plain); !strings.Contains(domain.ErrorMessage(err), "revoked") {
		t.Fatalf("token after disable and enable: %v", err)
	}
	lc.expectAudit(t, domain.AuditTokenRevoke, "deploy (account svc)", "account disabled")
}

// list: the three tokens the steps created, with their account and role.
func (lc *tokenLifecycle) list(t *testing.T) {
	list, err := lc.tokens.List(context.Background())
	if err != nil || len(list) != 3 || list[0].Account != "svc" || list[0].Role != domain.RoleOperator {
		t.Fatalf("list: %+v %v", list, err)
	}
}

func TestTokenCreateRefuses(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := newTokenEnv(t, url)
		e.create(t, "deploy", "")
		tests := []struct {
			name, account, token, expires string
			field, msg                    string
		}{
			{"ErrDuplicateName", "svc", "deploy", "", "name", "already has a token named deploy"},
			{"ErrNoAccount", "nobody", "x", "", "account", "There is no account named nobody"},
			{"ErrNoAccountAndBadName", "nobody", "", "never", "name", "Give the token a name"},
			{"ErrNever", "svc", "forever", "never", "expires", "Every token expires"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := e.tokens.Create(ctx, tc.account, tc.token, tc.expires, "alice")
				fe, ok := err.(domain.FieldErrors)
				if !ok || !fe.Has(tc.field) || !strings.Contains(fe.Text(), tc.msg) {
					t.Fatalf("error %v; want %q at %s", err, tc.msg, tc.field)
				}
			})
		}
		t.Run("ErrDisabledAccount", func(t *testing.T) {
			if err := e.db.SetAccountDisabled(ctx, "svc", true, "alice"); err != nil {
				t.Fatal(err)
			}
			_, _, err := e.tokens.Create(ctx, "svc", "later", "", "alice")
			if fe, ok := err.(domain.FieldErrors); !ok || !fe.Has("account") {
				t.Fatalf("token of a disabled account: %v", err)
			}
		})
		e.expectAudit(t, domain.AuditTokenCreate, "deploy (account svc)", "expires 2025-05-30T09:00:00Z")
	})
}

func (e *tokenEnv) lastUsed(t *testing.T, id string) time.Time {
	t.Helper()
	d, err := e.db.TokenByID(context.Background(), id)
	if err != nil || d.LastUsedAt == nil {
		t.Fatalf("token %s: %+v %v", id, d, err)
	}
	return d.LastUsedAt.UTC()
}

func (e *tokenEnv) expectAudit(t *testing.T, action, target, detail string) {
	t.Helper()
	events, _, err := e.db.ListAudit(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Action == action && ev.Target == target && ev.Detail == detail {
			return
		}
	}
	t.Fatalf("no audit event %s %s %q in %+v", action, target, detail, events)
}
