package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const password = "the administrator's password"

// passwordHash is password's bcrypt hash at the cheapest cost, computed
// once: the default cost takes seconds under -race. (A name no account has
// is still compared against a hash of the default cost: tests keep those
// few.)
var passwordHash = sync.OnceValues(func() ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
})

// accounts are the accounts of throttleEnv: an administrator and five
// operators, all with password.
var accounts = []string{"admin", "oper1", "oper2", "oper3", "oper4", "oper5"}

// clock is the injected time of a test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func (c *clock) at(t time.Time)          { c.t = t }

// throttleEnv is the service on a fresh database with the accounts.
func throttleEnv(t *testing.T, dbURL string) (*auth.Service, *clock) {
	t.Helper()
	db := testenv.MustOpenDB(t, dbURL)
	hash, err := passwordHash()
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range accounts {
		role := domain.RoleOperator
		if i == 0 {
			role = domain.RoleAdministrator
		}
		if _, err := db.CreateAccount(context.Background(), name, role, string(hash), "test"); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	return auth.New(db, c.now, 30*time.Minute, 12*time.Hour), c
}

// login signs in and returns the refusal's Retry-After (0 when not throttled).
func login(t *testing.T, svc *auth.Service, name, pw, addr string) (time.Duration, error) {
	t.Helper()
	_, _, err := svc.Login(context.Background(), name, pw, addr)
	var throttled interface{ RetryAfter() time.Duration }
	if errors.As(err, &throttled) {
		if domain.ErrorCode(err) != domain.ETHROTTLED {
			t.Fatalf("a throttled sign-in is %q, want %q", domain.ErrorCode(err), domain.ETHROTTLED)
		}
		return throttled.RetryAfter(), err
	}
	if domain.ErrorCode(err) == domain.ETHROTTLED {
		t.Fatalf("a throttled sign-in does not say when to try again: %v", err)
	}
	if err != nil && !auth.IsBadCredentials(err) {
		t.Fatalf("sign-in as %.40q: %v", name, err)
	}
	return 0, err
}

// The lockout ends Block after the failure that caused it, says to the
// second how long it has left, and the right password then works.
func TestThrottleLockoutEnds(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		svc, c := throttleEnv(t, dbURL)
		for range auth.AccountLimit {
			c.advance(time.Second)
			if _, err := login(t, svc, "admin", "wrong password", "192.0.2.1"); !auth.IsBadCredentials(err) {
				t.Fatalf("wrong password: %v", err)
			}
		}
		until := c.t.Add(auth.Block)
		c.advance(5 * time.Minute)
		// From another address too: the account is what is locked.
		if wait, err := login(t, svc, "admin", password, "198.51.100.7"); wait != 10*time.Minute {
			t.Fatalf("right password 5 min into the lockout: retry after %v (%v), want 10m", wait, err)
		}
		if !strings.Contains(domain.ErrorMessage(mustThrottled(t, svc, "admin")), "Try again in 10 minutes") {
			t.Errorf("message %q does not say when to try again", domain.ErrorMessage(mustThrottled(t, svc, "admin")))
		}
		c.at(until.Add(-time.Nanosecond))
		if wait, _ := login(t, svc, "admin", password, "198.51.100.7"); wait != time.Second {
			t.Fatalf("a nanosecond before the end: retry after %v, want 1s (rounded up)", wait)
		}
		c.at(until)
		if wait, err := login(t, svc, "admin", password, "198.51.100.7"); wait != 0 || err != nil {
			t.Fatalf("right password when the lockout ends: retry after %v, %v", wait, err)
		}
		// The success forgot the failures: the account has its full allowance again.
		for range auth.AccountLimit - 1 {
			_, _ = login(t, svc, "admin", "wrong password", "192.0.2.1")
		}
		if _, err := login(t, svc, "admin", password, "192.0.2.1"); err != nil {
			t.Fatalf("after %d new failures: %v", auth.AccountLimit-1, err)
		}
	})
}

func mustThrottled(t *testing.T, svc *auth.Service, name string) error {
	t.Helper()
	_, _, err := svc.Login(context.Background(), name, password, "203.0.113.9")
	if domain.ErrorCode(err) != domain.ETHROTTLED {
		t.Fatalf("sign-in as %s: %v, want throttled", name, err)
	}
	return err
}

// An attacker hammering the account for an hour keeps it locked, learns
// nothing while it is (tries are refused before the password is compared),
// and the account opens at most Block after the attacker's last try.
func TestThrottleHammering(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		svc, c := throttleEnv(t, dbURL)
		start := c.t
		compared, refused := 0, 0
		for c.t.Sub(start) < time.Hour {
			wait, err := login(t, svc, "admin", "guess", "192.0.2.66")
			switch {
			case wait > 0:
				refused++
				if wait > auth.Block {
					t.Fatalf("locked for %v, longer than Block", wait)
				}
			case auth.IsBadCredentials(err):
				compared++
			}
			c.advance(20 * time.Second)
		}
		last := c.t.Add(-20 * time.Second)
		// Five guesses per lockout: 4 lockouts in the hour and the start of a 5th.
		if max := auth.AccountLimit * 5; compared > max || refused == 0 {
			t.Fatalf("%d guesses compared (at most %d), %d refused", compared, max, refused)
		}
		c.at(last.Add(auth.Block))
		if _, err := login(t, svc, "admin", password, "198.51.100.7"); err != nil {
			t.Fatalf("Block after the last try: %v", err)
		}
	})
}

// failOperators makes n failed sign-ins from addr, spread over the
// operators so that none of them is locked (AccountLimit-1 each at most).
func failOperators(t *testing.T, svc *auth.Service, c *clock, n int, addr string) {
	t.Helper()
	ops := accounts[1:]
	if n > len(ops)*(auth.AccountLimit-1) {
		t.Fatalf("%d failures would lock an operator", n)
	}
	for i := range n {
		c.advance(time.Second)
		if _, err := login(t, svc, ops[i%len(ops)], "guess", addr); !auth.IsBadCredentials(err) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
}

// An address that fails AddressLimit times, on any names, is blocked, for
// every account; other addresses are not.
func TestThrottleAddress(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		svc, c := throttleEnv(t, dbURL)
		failOperators(t, svc, c, auth.AddressLimit-1, "192.0.2.66")
		c.advance(time.Second)
		if _, err := login(t, svc, "nobody", "guess", "192.0.2.66"); !auth.IsBadCredentials(err) {
			t.Fatalf("an unknown name: %v", err)
		}
		if wait, _ := login(t, svc, "admin", password, "192.0.2.66"); wait != auth.Block {
			t.Fatalf("the address after %d failures: retry after %v, want %v", auth.AddressLimit, wait, auth.Block)
		}
		if _, err := login(t, svc, "admin", password, "198.51.100.7"); err != nil {
			t.Fatalf("another address: %v", err)
		}
	})
}

// A name no account can have (overlong, NUL, invalid UTF-8) is a wrong
// password like any other, never a fault, and counts against the address.
func TestThrottleImpossibleNames(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		svc, c := throttleEnv(t, dbURL)
		// Each is compared with a hash of the default cost: three only.
		names := []string{strings.Repeat("é", 5000), "ad\x00min", "ad\xffmin"}
		failOperators(t, svc, c, auth.AddressLimit-len(names), "192.0.2.66")
		for _, name := range names {
			if _, err := login(t, svc, name, "guess", "192.0.2.66"); !auth.IsBadCredentials(err) {
				t.Fatalf("name %.40q: %v", name, err)
			}
		}
		if wait, _ := login(t, svc, "admin", password, "192.0.2.66"); wait == 0 {
			t.Fatal("the address is not blocked after failures on impossible names")
		}
	})
}

// A lock that has ended forgets the failures that caused it: one more
// wrong password right at its end is one failure, not a new lock.
func TestThrottleEndedLockForgets(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		svc, c := throttleEnv(t, dbURL)
		start := c.t
		for range auth.AccountLimit {
			_, _ = login(t, svc, "admin", "wrong password", "192.0.2.1")
		}
		c.at(start.Add(auth.Block))
		if wait, err := login(t, svc, "admin", "wrong password", "192.0.2.1"); wait != 0 || !auth.IsBadCredentials(err) {
			t.Fatalf("a wrong password when the lock ends: retry after %v, %v", wait, err)
		}
		if _, err := login(t, svc, "admin", password, "192.0.2.1"); err != nil {
			t.Fatalf("then the right one: %v", err)
		}
	})
}
