package domain

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// APIToken lets a program use the JSON API as an account: it acts with the
// account's role, until it expires, is revoked, or its account is disabled
// (which revokes it) or deleted. The token itself is shown once, when it is
// created; the database keeps only its SHA-256 hash.
type APIToken struct {
	ID         string     `gorm:"column:id;primaryKey"`
	AccountID  string     `gorm:"column:account_id"`
	Name       string     `gorm:"column:name"`
	TokenHash  string     `gorm:"column:token_hash"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	CreatedBy  string     `gorm:"column:created_by"`
	ExpiresAt  time.Time  `gorm:"column:expires_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
	RevokedBy  string     `gorm:"column:revoked_by"`
}

func (APIToken) TableName() string { return "api_tokens" }

// TokenState is whether a token still works.
type TokenState string

const (
	TokenActive  TokenState = "active"
	TokenExpired TokenState = "expired"
	TokenRevoked TokenState = "revoked"
)

// State is the token's state at now: revoked wins over expired.
func (t *APIToken) State(now time.Time) TokenState {
	switch {
	case t.RevokedAt != nil:
		return TokenRevoked
	case !now.Before(t.ExpiresAt):
		return TokenExpired
	}
	return TokenActive
}

// Token lifetimes. Every token expires: a token that never expires outlives
// the script and the person it was made for, so "never" is refused rather
// than offered.
const (
	DefaultTokenLifetime = 90 * 24 * time.Hour
	MinTokenLifetime     = time.Hour
	MaxTokenLifetime     = 365 * 24 * time.Hour
)

// MaxActorLength is the width of the columns that name who did something
// (audit_events.actor, job_runs.triggered_by, batch_jobs.updated_by,
// ldap_settings.updated_by).
const MaxActorLength = 64

// MaxTokenNameLength is the longest name a token may have (api_tokens.name
// is wider); its account's name counts too (see ValidateTokenName).
const MaxTokenNameLength = 32

// TokenActor names a token in the audit log and on the runs and saves it
// makes, as "cli:USER" names a person at the command line.
func TokenActor(name, account string) string {
	return "token:" + name + " (account " + account + ")"
}

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidateTokenName checks the name of a new token of account: 1 to 32
// letters, digits, '.', '_' or '-', starting with a letter or digit, short
// enough that TokenActor fits the columns that name who did something.
func ValidateTokenName(name, account string) error {
	room := min(MaxTokenNameLength, MaxActorLength-len(TokenActor("", account)))
	n := len(name) // ASCII once the pattern matched
	switch {
	case name == "":
		return Invalid("name", "Give the token a name that says what uses it (for example nightly-report)")
	case !tokenNameRE.MatchString(name):
		return Invalid("name", "A token's name is letters, digits, '.', '_' or '-', starting with a letter or digit")
	case room < 1:
		return Invalid("account", "The account name %s is too long for the audit log to name its tokens: use an account with a name of at most %d characters",
			account, MaxActorLength-len(TokenActor("x", "")))
	case n > room && room < MaxTokenNameLength:
		return Invalid("name", "With the account %s, a token's name may have at most %d characters; this one has %d", account, room, n)
	case n > room:
		return Invalid("name", "A token's name may have at most %d characters; this one has %d", room, n)
	}
	return nil
}

var lifetimeRE = regexp.MustCompile(`^([0-9]{1,4})([hdwy])$`)

// ParseTokenLifetime reads how long a new token lives: a whole number of
// hours, days, weeks or years ("12h", "30d", "8w", "1y"; a year is 365
// days), from 1 hour to 1 year; "" is the default, 90 days.
func ParseTokenLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultTokenLifetime, nil
	}
	if strings.EqualFold(s, "never") || s == "0" {
		return 0, Invalid("expires", "Every token expires: choose a lifetime of at most 1y (365 days), and make a new token before it ends")
	}
	m := lifetimeRE.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return 0, Invalid("expires", "Write the lifetime as a number and a unit: 12h, 30d, 8w or 1y")
	}
	n, _ := strconv.Atoi(m[1]) // at most four digits: no overflow
	unit := map[string]time.Duration{"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}[m[2]]
	d := time.Duration(n) * unit
	switch {
	case d < MinTokenLifetime:
		return 0, Invalid("expires", "A token lives at least 1 hour")
	case d > MaxTokenLifetime:
		return 0, Invalid("expires", "A token lives at most 1 year (1y, 365d, 52w or 8760h); %s is longer", s)
	}
	return d, nil
}

// ValidateNewToken checks a request for a new token of account: its name,
// its lifetime (returned), and that the account may have one.
func ValidateNewToken(account *Account, name, expires string) (time.Duration, error) {
	var errs FieldErrors
	if account.Disabled {
		errs.Add("account", "The account %s is disabled: enable it before you make it a token", account.Username)
	}
	errs.Merge(ValidateTokenName(name, account.Username))
	d, err := ParseTokenLifetime(expires)
	errs.Merge(err)
	return d, errs.Err()
}

// CheckTokenID checks the id of a token to revoke: one that no token can
// have is not found.
func CheckTokenID(id string) error {
	if id == "" || lineProblem(id, MaxRunIDLength) != "" {
		return Errorf(ENOTFOUND, "There is no API token %q.", id)
	}
	return nil
}
