package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// TokenDetail is an API token with what the token list shows of its account.
type TokenDetail struct {
	domain.APIToken `gorm:"embedded"`
	Account         string             `gorm:"column:account_name"`
	Role            domain.AccountRole `gorm:"column:account_role"`
	AccountDisabled bool               `gorm:"column:account_disabled"`
}

// tokenTarget is how the audit log names a token of account.
func tokenTarget(name, account string) string { return name + " (account " + account + ")" }

// CreateToken stores t (its hash, never the token) for the account named
// account, refusing a disabled account and a name the account already gave
// a token (revoked ones included), and audits it as done by actor.
func (db *DB) CreateToken(ctx context.Context, t *domain.APIToken, account, actor string) error {
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var a domain.Account
		if err := tx.Where("username = ?", account).Take(&a).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return domain.Invalid("account", "There is no account named %s", account)
		} else if err != nil {
			return fmt.Errorf("store: find account %s: %w", account, err)
		}
		if a.Disabled {
			return domain.Invalid("account", "The account %s is disabled: enable it before you make it a token", account)
		}
		t.AccountID = a.ID
		if err := tx.Create(t).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
			return domain.Invalid("name", "The account %s already has a token named %s (revoked tokens keep their names, so that the audit log names one token): choose another name", account, t.Name)
		} else if err != nil {
			return fmt.Errorf("store: create token %s of %s: %w", t.Name, account, err)
		}
		return addAudit(tx, domain.AuditEvent{At: t.CreatedAt, Actor: actor, Action: domain.AuditTokenCreate,
			Target: tokenTarget(t.Name, account), Detail: "expires " + t.ExpiresAt.Format(time.RFC3339)})
	})
}

// tokenDetails selects tokens with their accounts' names, role and state.
func (db *DB) tokenDetails(ctx context.Context) *gorm.DB {
	return db.read.WithContext(ctx).Table("api_tokens t").
		Select("t.*, a.username AS account_name, a.role AS account_role, a.disabled AS account_disabled").
		Joins("JOIN accounts a ON a.id = t.account_id")
}

// ListTokens returns every token, newest first.
func (db *DB) ListTokens(ctx context.Context) ([]TokenDetail, error) {
	var out []TokenDetail
	if err := db.tokenDetails(ctx).Order("t.created_at DESC, t.id").Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return out, nil
}

// TokenByID returns token id.
func (db *DB) TokenByID(ctx context.Context, id string) (*TokenDetail, error) {
	var out []TokenDetail
	if err := db.tokenDetails(ctx).Where("t.id = ?", id).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: find token %s: %w", id, err)
	}
	if len(out) == 0 {
		return nil, domain.Errorf(domain.ENOTFOUND, "There is no API token %q.", id)
	}
	return &out[0], nil
}

// tokenAccountRow is a token and its account read together.
type tokenAccountRow struct {
	Token   domain.APIToken `gorm:"embedded;embeddedPrefix:t_"`
	Account domain.Account  `gorm:"embedded;embeddedPrefix:a_"`
}

// TokenAccount returns the token with this hash and its account, in one
// query (every API request asks). The hash is that of a token of 256 random
// bits, so looking it up through the index tells a caller who guesses
// nothing about any stored token: no constant-time comparison is needed.
func (db *DB) TokenAccount(ctx context.Context, tokenHash string) (*domain.APIToken, *domain.Account, error) {
	var rows []tokenAccountRow
	err := db.read.WithContext(ctx).Raw(`SELECT
		t.id AS t_id, t.account_id AS t_account_id, t.name AS t_name, t.token_hash AS t_token_hash,
		t.created_at AS t_created_at, t.created_by AS t_created_by, t.expires_at AS t_expires_at,
		t.last_used_at AS t_last_used_at, t.revoked_at AS t_revoked_at, t.revoked_by AS t_revoked_by,
		a.id AS a_id, a.username AS a_username, a.role AS a_role,
		a.password_hash AS a_password_hash, a.disabled AS a_disabled,
		a.created_at AS a_created_at, a.updated_at AS a_updated_at, a.last_login_at AS a_last_login_at
		FROM api_tokens t JOIN accounts a ON a.id = t.account_id
		WHERE t.token_hash = ?`, tokenHash).Scan(&rows).Error
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("store: find token: %w", err)
	case len(rows) == 0:
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "token not found")
	}
	return &rows[0].Token, &rows[0].Account, nil
}

// TouchToken records that token id was used at at.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time) error {
	if err := db.write.WithContext(ctx).Model(&domain.APIToken{}).Where("id = ?", id).Update("last_used_at", at).Error; err != nil {
		return fmt.Errorf("store: touch token: %w", err)
	}
	return nil
}

// RevokeToken revokes token id for good and audits it; a token already
// revoked is a conflict.
func (db *DB) RevokeToken(ctx context.Context, id, actor string) (*TokenDetail, error) {
	t, err := db.TokenByID(ctx, id)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	err = db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&domain.APIToken{}).Where("id = ? AND revoked_at IS NULL", id).
			Updates(map[string]any{"revoked_at": now, "revoked_by": actor})
		if res.Error != nil {
			return fmt.Errorf("store: revoke token %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return domain.Errorf(domain.ECONFLICT, "The token %s was already revoked.", tokenTarget(t.Name, t.Account))
		}
		return addAudit(tx, domain.AuditEvent{At: now, Actor: actor, Action: domain.AuditTokenRevoke, Target: tokenTarget(t.Name, t.Account)})
	})
	if err != nil {
		return nil, err
	}
	t.RevokedAt, t.RevokedBy = &now, actor
	return t, nil
}

// revokeTokensOf revokes, within tx, every live token of account a, each
// audited with why.
func revokeTokensOf(tx *gorm.DB, a *domain.Account, now time.Time, actor, why string) error {
	var toks []domain.APIToken
	if err := tx.Where("account_id = ? AND revoked_at IS NULL", a.ID).Find(&toks).Error; err != nil {
		return fmt.Errorf("store: tokens of %s: %w", a.Username, err)
	}
	for _, t := range toks {
		err := tx.Model(&domain.APIToken{}).Where("id = ?", t.ID).Updates(map[string]any{"revoked_at": now, "revoked_by": actor}).Error
		if err != nil {
			return fmt.Errorf("store: revoke token %s: %w", t.ID, err)
		}
		if err := addAudit(tx, domain.AuditEvent{At: now, Actor: actor, Action: domain.AuditTokenRevoke, Target: tokenTarget(t.Name, a.Username), Detail: why}); err != nil {
			return err
		}
	}
	return nil
}
