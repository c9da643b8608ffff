package auth

import (
	"context"
	"regexp"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
)

// TokenPrefix starts every API token, so that people and secret scanners
// recognise one (in a commit, a log, a paste): idm_ and 43 base64url
// characters holding 256 random bits.
const TokenPrefix = "idm_"

var tokenRE = regexp.MustCompile(`^idm_[A-Za-z0-9_-]{43}$`)

// touchEvery is how stale a token's last-used time may get: a minute's
// precision is plenty, and writing on every request would make each one a
// write.
const touchEvery = time.Minute

// TokenStore is what the API tokens need of the database.
type TokenStore interface {
	AccountByName(ctx context.Context, name string) (*domain.Account, error)
	CreateToken(ctx context.Context, t *domain.APIToken, account, actor string) error
	TokenAccount(ctx context.Context, tokenHash string) (*domain.APIToken, *domain.Account, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
	ListTokens(ctx context.Context) ([]store.TokenDetail, error)
	RevokeToken(ctx context.Context, id, actor string) (*store.TokenDetail, error)
}

// Tokens makes, checks, lists and revokes API tokens. The command line and
// the Admin page make them through Create, so both apply the same rules.
type Tokens struct {
	store TokenStore
	now   func() time.Time
}

// NewTokens builds the token service over store, with the clock now.
func NewTokens(store TokenStore, now func() time.Time) *Tokens {
	return &Tokens{store: store, now: now}
}

// Create makes a token named name for account, living expires
// (domain.ParseTokenLifetime; "" for the default), audited as made by
// actor. It returns the token itself, which is never stored or shown again.
func (t *Tokens) Create(ctx context.Context, account, name, expires, actor string) (string, *domain.APIToken, error) {
	// A name no account can have is not looked up: PostgreSQL refuses a
	// NUL byte or invalid UTF-8 with an error.
	err := domain.CheckAccountLookup(account)
	var acct *domain.Account
	if err == nil {
		acct, err = t.store.AccountByName(ctx, account)
	}
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		acct, err = &domain.Account{Username: account}, domain.Invalid("account", "There is no account named %s", account)
	}
	lifetime, rule := domain.ValidateNewToken(acct, name, expires)
	if err != nil || rule != nil {
		var errs domain.FieldErrors
		errs.Merge(err)
		errs.Merge(rule)
		return "", nil, errs.Err()
	}
	plain, err := newAPIToken()
	if err != nil {
		return "", nil, err
	}
	now := t.now()
	tok := &domain.APIToken{ID: store.NewID(), Name: name, TokenHash: HashToken(plain), CreatedAt: now,
		CreatedBy: actor, ExpiresAt: now.Add(lifetime)}
	if err := t.store.CreateToken(ctx, tok, account, actor); err != nil {
		return "", nil, err
	}
	return plain, tok, nil
}

// List returns every token, newest first.
func (t *Tokens) List(ctx context.Context) ([]store.TokenDetail, error) {
	return t.store.ListTokens(ctx)
}

// Revoke revokes token id for good, audited as done by actor.
func (t *Tokens) Revoke(ctx context.Context, id, actor string) (*store.TokenDetail, error) {
	if err := domain.CheckTokenID(id); err != nil {
		return nil, err
	}
	return t.store.RevokeToken(ctx, id, actor)
}

// Authenticate returns the token presented and its account, refusing an
// unknown, expired or revoked token and a disabled account's; it records
// the token's use (at most once a minute).
func (t *Tokens) Authenticate(ctx context.Context, token string) (*domain.APIToken, *domain.Account, error) {
	if !tokenRE.MatchString(token) {
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "This is not an API token: they start with %s. Make one under Admin, Home > API tokens, or with idm token create.", TokenPrefix)
	}
	tok, acct, err := t.store.TokenAccount(ctx, HashToken(token))
	if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "This API token is not known: it may have been mistyped, or its account deleted.")
	} else if err != nil {
		return nil, nil, err
	}
	now := t.now()
	switch {
	case tok.State(now) == domain.TokenRevoked:
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "This API token (%s) was revoked.", tok.Name)
	case tok.State(now) == domain.TokenExpired:
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "This API token (%s) expired at %s: make a new one.", tok.Name, tok.ExpiresAt.Format(time.RFC3339))
	case acct.Disabled:
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "The account of this API token (%s) is disabled.", acct.Username)
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= touchEvery {
		if err := t.store.TouchToken(ctx, tok.ID, now); err != nil {
			return nil, nil, err
		}
		tok.LastUsedAt = &now
	}
	return tok, acct, nil
}

// newAPIToken is a fresh token: the prefix and 256 random bits, as a
// session's.
func newAPIToken() (string, error) {
	t, err := newToken()
	if err != nil {
		return "", err
	}
	return TokenPrefix + t, nil
}
