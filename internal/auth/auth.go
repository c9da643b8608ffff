// Package auth signs accounts in and out: bcrypt passwords, server-side
// sessions kept as hashes of random tokens, and a throttle on failures.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/crypto/bcrypt"

	"idm/internal/domain"
)

// Store is what the service needs of the database.
type Store interface {
	AccountByName(ctx context.Context, name string) (*domain.Account, error)
	RecordLogin(ctx context.Context, accountID string, at time.Time) error
	CreateSession(ctx context.Context, s *domain.Session) error
	SessionAccount(ctx context.Context, tokenHash string) (*domain.Session, *domain.Account, error)
	TouchSession(ctx context.Context, tokenHash string, at time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	LoginBlockedUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error)
	RecordLoginFailure(ctx context.Context, keys []string, now time.Time, window time.Duration, limit int, block time.Duration) error
	ClearLoginFailures(ctx context.Context, keys []string) error
}

// ErrBadCredentials is the one message for a wrong password or an unknown
// account, so that the page does not tell which accounts exist.
var ErrBadCredentials = domain.Errorf(domain.EUNAUTHORIZED, "Wrong account name or password.")

// dummyHash is compared against when no account has the name, so that an
// unknown name takes as long as a wrong password. It is the hash, at
// bcrypt.DefaultCost like HashPassword's, of a random string nobody kept;
// being fixed, it costs nothing to build (a bcrypt hash takes seconds under
// -race, and every test server builds a Service).
const dummyHash = "$2a$10$7DYxLNTM2cP1ogigwhmyPeppkxOGP0uAmoN1sn1bLAB0YMn3hWBBm"

// Service signs accounts in and checks sessions.
type Service struct {
	store Store
	now   func() time.Time
	idle  time.Duration
	max   time.Duration
}

// New builds the service; idle and max are the session's idle and absolute lifetimes.
func New(store Store, now func() time.Time, idle, max time.Duration) *Service {
	return &Service{store: store, now: now, idle: idle, max: max}
}

// HashPassword checks a new password's length and hashes it with bcrypt.
func HashPassword(pw string) (string, error) {
	if err := domain.ValidatePassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// Login checks name and password and opens a session; it returns the
// session token for the cookie.
func (s *Service) Login(ctx context.Context, name, password, addr string) (string, *domain.Account, error) {
	now := s.now()
	keys := keysFor(name, addr)
	if err := s.checkThrottle(ctx, keys, now); err != nil {
		return "", nil, err
	}
	acct, err := s.verify(ctx, keys, name, password)
	if err != nil {
		return "", nil, err
	}
	if acct == nil {
		if err := s.recordFailure(ctx, keys, now); err != nil {
			return "", nil, err
		}
		slog.Warn("failed sign-in", "account", logName(name), "addr", addr)
		return "", nil, ErrBadCredentials
	}
	if err := s.store.ClearLoginFailures(ctx, []string{keys.account}); err != nil {
		return "", nil, err
	}
	token, err := newToken()
	if err != nil {
		return "", nil, err
	}
	sess := &domain.Session{TokenHash: HashToken(token), AccountID: acct.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.max)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", nil, err
	}
	if err := s.store.RecordLogin(ctx, acct.ID, now); err != nil {
		return "", nil, err
	}
	slog.Info("signed in", "account", acct.Username, "role", acct.Role, "addr", addr)
	return token, acct, nil
}

// verify returns the account that name and password sign in to, nil when
// they sign in to none. Every path compares a bcrypt hash, so an unknown
// name takes as long as a wrong password.
func (s *Service) verify(ctx context.Context, keys throttleKeys, name, password string) (*domain.Account, error) {
	var acct *domain.Account
	if keys.account != "" {
		a, err := s.store.AccountByName(ctx, name)
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			return nil, err
		}
		acct = a
	}
	if acct == nil {
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
		return nil, nil
	}
	if bcrypt.CompareHashAndPassword([]byte(acct.PasswordHash), []byte(password)) != nil || acct.Disabled {
		return nil, nil
	}
	return acct, nil
}

// Authenticate returns the session and account of a token, refusing expired
// sessions and disabled accounts; it moves the idle deadline.
func (s *Service) Authenticate(ctx context.Context, token string) (*domain.Session, *domain.Account, error) {
	if token == "" {
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "not signed in")
	}
	hash := HashToken(token)
	sess, acct, err := s.store.SessionAccount(ctx, hash)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if now.After(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) > s.idle || acct.Disabled {
		_ = s.store.DeleteSession(ctx, hash)
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "Your session has ended. Sign in again.")
	}
	// Writing on every request would make each page a write; a minute's
	// precision is plenty for an idle timeout.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.store.TouchSession(ctx, hash, now); err != nil {
			return nil, nil, err
		}
	}
	return sess, acct, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.store.DeleteSession(ctx, HashToken(token))
}

// HashToken is how a session token or an API token is kept in the
// database: its SHA-256, in hex.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// IsBadCredentials reports whether err is the wrong-password error.
func IsBadCredentials(err error) bool { return errors.Is(err, ErrBadCredentials) }
