package domain_test

import (
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
)

func TestParseTokenLifetime(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name, in string
		want     time.Duration
		msg      string // the field message when refused
	}{
		{"OKDefault", "", 90 * day, ""},
		{"OKHours", "12h", 12 * time.Hour, ""},
		{"OKDays", "30d", 30 * day, ""},
		{"OKWeeks", "8w", 56 * day, ""},
		{"OKYear", "1y", 365 * day, ""},
		{"OKUpperCase", " 90D ", 90 * day, ""},
		{"OKMaxDays", "365d", 365 * day, ""},
		{"ErrNever", "never", 0, "Every token expires"},
		{"ErrZero", "0", 0, "Every token expires"},
		{"ErrZeroDays", "0d", 0, "at least 1 hour"},
		{"ErrTooLong", "366d", 0, "at most 1 year"},
		{"ErrTwoYears", "2y", 0, "at most 1 year"},
		{"ErrNoUnit", "90", 0, "a number and a unit"},
		{"ErrGoDuration", "1h30m", 0, "a number and a unit"},
		{"ErrNegative", "-1d", 0, "a number and a unit"},
		{"ErrOverflow", "99999999999999999999d", 0, "a number and a unit"},
		{"ErrNUL", "1\x00d", 0, "a number and a unit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.ParseTokenLifetime(tc.in)
			if tc.msg == "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %v, %v; want %v", got, err, tc.want)
				}
				return
			}
			fe, ok := err.(domain.FieldErrors)
			if !ok || !fe.Has("expires") || !strings.Contains(fe.Text(), tc.msg) {
				t.Fatalf("error %v; want %q at expires", err, tc.msg)
			}
		})
	}
}

func TestValidateTokenName(t *testing.T) {
	long := strings.Repeat("a", 40) // 40 + 17 > 47: leaves 7 characters for a name
	tests := []struct {
		name, token, account string
		field, msg           string // "" for OK
	}{
		{"OK", "nightly-report", "alice", "", ""},
		{"OKLongest", strings.Repeat("n", 32), "alice", "", ""},
		{"OKDots", "ci.deploy_2", "svc", "", ""},
		{"ErrEmpty", "", "alice", "name", "Give the token a name"},
		{"ErrSpace", "my token", "alice", "name", "letters, digits"},
		{"ErrLeadingDash", "-x", "alice", "name", "starting with a letter or digit"},
		{"ErrNUL", "a\x00", "alice", "name", "letters, digits"},
		{"ErrUnicode", "rapport-å", "alice", "name", "letters, digits"},
		{"ErrTooLong", strings.Repeat("n", 33), "alice", "name", "at most 32 characters; this one has 33"},
		{"ErrTooLongForAccount", "nightly-report", long, "name", "With the account " + long + ", a token's name may have at most 7 characters"},
		{"ErrAccountTooLong", "n", strings.Repeat("a", 64), "account", "too long for the audit log"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateTokenName(tc.token, tc.account)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if n := len(domain.TokenActor(tc.token, tc.account)); n > domain.MaxActorLength {
					t.Fatalf("actor is %d characters", n)
				}
				return
			}
			fe, ok := err.(domain.FieldErrors)
			if !ok || !fe.Has(tc.field) || !strings.Contains(fe.Text(), tc.msg) {
				t.Fatalf("error %v; want %q at %s", err, tc.msg, tc.field)
			}
		})
	}
}

func TestValidateNewToken(t *testing.T) {
	acct := &domain.Account{Username: "svc-ci", Role: domain.RoleOperator}
	if d, err := domain.ValidateNewToken(acct, "deploy", "30d"); err != nil || d != 30*24*time.Hour {
		t.Fatalf("OK: %v %v", d, err)
	}
	acct.Disabled = true
	_, err := domain.ValidateNewToken(acct, "", "never")
	fe, ok := err.(domain.FieldErrors)
	if !ok || !fe.Has("account") || !fe.Has("name") || !fe.Has("expires") {
		t.Fatalf("ErrEverything: %v", err)
	}
}

func TestTokenState(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	revoked := now.Add(-time.Minute)
	tests := []struct {
		name string
		tok  domain.APIToken
		want domain.TokenState
	}{
		{"Active", domain.APIToken{ExpiresAt: now.Add(time.Second)}, domain.TokenActive},
		{"ExpiredAtTheInstant", domain.APIToken{ExpiresAt: now}, domain.TokenExpired},
		{"Revoked", domain.APIToken{ExpiresAt: now.Add(time.Hour), RevokedAt: &revoked}, domain.TokenRevoked},
		{"RevokedWinsOverExpired", domain.APIToken{ExpiresAt: now.Add(-time.Hour), RevokedAt: &revoked}, domain.TokenRevoked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.tok.State(now); got != tc.want {
				t.Fatalf("state %s, want %s", got, tc.want)
			}
		})
	}
}
