package auth

import (
	"context"
	"fmt"
	"time"

	"idm/internal/domain"
)

// The throttle on failed sign-ins. Failures are counted per account name and
// per client address in a fixed window that opens at the first failure and
// lasts Window. The failure that reaches a limit (AccountLimit for a name,
// AddressLimit for an address) locks that name or address for Block. While
// locked, sign-ins are refused before the password is compared, and are not
// counted: hammering a locked account neither learns anything nor makes the
// lock longer, so it ends at most Block after the attacker's last counted
// try, and each lock buys the attacker only AccountLimit guesses. A lock that
// has ended forgets its failures; a successful sign-in forgets the
// account's. An account can thus be kept locked only by someone who keeps
// failing on it, never for good.
const (
	Window       = 15 * time.Minute
	Block        = 15 * time.Minute
	AccountLimit = 5
	AddressLimit = 20
)

// ThrottledError refuses a sign-in while its account name or address is
// locked. It is a domain.ETHROTTLED error; RetryAfter says when to try again.
type ThrottledError struct {
	err  *domain.Error
	wait time.Duration
}

func (e *ThrottledError) Error() string { return e.err.Error() }
func (e *ThrottledError) Unwrap() error { return e.err }

// RetryAfter is how long until a sign-in may be tried again, rounded up to
// the second (HTTP's Retry-After counts seconds).
func (e *ThrottledError) RetryAfter() time.Duration { return e.wait }

func throttled(now, until time.Time) *ThrottledError {
	wait := (until.Sub(now) + time.Second - 1).Truncate(time.Second)
	when := plural(int((wait+time.Minute-1)/time.Minute), "minute")
	if wait < time.Minute {
		when = plural(int(wait/time.Second), "second")
	}
	msg := "Too many failed sign-ins for this account or from this address. Try again in " + when + "."
	return &ThrottledError{err: domain.Errorf(domain.ETHROTTLED, "%s", msg), wait: wait}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// throttleKeys are the counters of a sign-in as name from addr. A name that
// no account can have gets no counter of its own (it would be a row per
// made-up name, and some are too long to store): its failures count against
// the address alone.
type throttleKeys struct{ account, address string }

func keysFor(name, addr string) throttleKeys {
	k := throttleKeys{address: "addr:" + addr}
	if domain.ValidateAccountName(name) == nil {
		k.account = "account:" + name
	}
	return k
}

// logName is name cut to what a log line needs: a made-up name can be
// megabytes long.
func logName(name string) string {
	if len(name) > 64 {
		return name[:64] + "…"
	}
	return name
}

func (k throttleKeys) all() []string {
	if k.account == "" {
		return []string{k.address}
	}
	return []string{k.account, k.address}
}

// checkThrottle refuses while any of keys is locked.
func (s *Service) checkThrottle(ctx context.Context, keys throttleKeys, now time.Time) error {
	until, err := s.store.LoginBlockedUntil(ctx, keys.all(), now)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		return throttled(now, until)
	}
	return nil
}

// recordFailure counts a failed sign-in against the account name and the address.
func (s *Service) recordFailure(ctx context.Context, keys throttleKeys, now time.Time) error {
	if keys.account != "" {
		if err := s.store.RecordLoginFailure(ctx, []string{keys.account}, now, Window, AccountLimit, Block); err != nil {
			return err
		}
	}
	return s.store.RecordLoginFailure(ctx, []string{keys.address}, now, Window, AddressLimit, Block)
}
