package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"idm/internal/domain"
)

// CreateAccount stores a new account with an already hashed password.
func (db *DB) CreateAccount(ctx context.Context, name string, role domain.AccountRole, passwordHash, actor string) (*domain.Account, error) {
	now := db.Now()
	a := &domain.Account{ID: NewID(), Username: name, Role: role, PasswordHash: passwordHash, CreatedAt: now, UpdatedAt: now}
	err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(a).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return domain.Errorf(domain.ECONFLICT, "An account named %q already exists", name)
			}
			return fmt.Errorf("store: create account %s: %w", name, err)
		}
		return addAudit(tx, domain.AuditEvent{At: now, Actor: actor, Action: domain.AuditAccountCreate, Target: name, Detail: "role " + string(role)})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// AccountByName finds an account by its name.
func (db *DB) AccountByName(ctx context.Context, name string) (*domain.Account, error) {
	var a domain.Account
	err := db.read.WithContext(ctx).Where("username = ?", name).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, domain.Errorf(domain.ENOTFOUND, "No account named %q", name)
	} else if err != nil {
		return nil, fmt.Errorf("store: find account %s: %w", name, err)
	}
	return &a, nil
}

// ListAccounts returns every account, by name.
func (db *DB) ListAccounts(ctx context.Context) ([]domain.Account, error) {
	var accounts []domain.Account
	if err := db.read.WithContext(ctx).Order("username").Find(&accounts).Error; err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	return accounts, nil
}

// SetAccountPassword replaces an account's password hash and ends its sessions.
func (db *DB) SetAccountPassword(ctx context.Context, name, passwordHash, actor string) error {
	return db.updateAccount(ctx, name, actor, domain.AuditAccountPassword, func(*domain.Account) string { return "password changed" },
		map[string]any{"password_hash": passwordHash}, accountHooks{})
}

// SetAccountDisabled disables or enables an account; disabling, by the rule
// of domain.CheckDisable (not one's own account, never the last enabled
// administrator), ends its sessions and revokes its API tokens for good
// (enabling it again brings none back).
func (db *DB) SetAccountDisabled(ctx context.Context, name string, disabled bool, actor string) error {
	var hooks accountHooks
	if disabled {
		hooks.check = db.administratorsRule(func(a domain.Account, others int) error { return domain.CheckDisable(a, actor, others) })
		hooks.also = func(tx *gorm.DB, a *domain.Account, now time.Time) error {
			return revokeTokensOf(tx, a, now, actor, "account disabled")
		}
	}
	return db.updateAccount(ctx, name, actor, domain.AuditAccountDisable, func(*domain.Account) string { return fmt.Sprintf("disabled → %t", disabled) },
		map[string]any{"disabled": disabled}, hooks)
}

// SetAccountRole gives an account another role and ends its sessions, by
// the rule of domain.CheckRoleChange (not one's own role, never the last
// enabled administrator's); an account that has the role already is left
// as it is.
func (db *DB) SetAccountRole(ctx context.Context, name string, role domain.AccountRole, actor string) error {
	check := db.administratorsRule(func(a domain.Account, others int) error { return domain.CheckRoleChange(a, role, actor, others) })
	return db.updateAccount(ctx, name, actor, domain.AuditAccountRole, func(a *domain.Account) string {
		if a.Role == role {
			return ""
		}
		return fmt.Sprintf("role %s → %s", a.Role, role)
	}, map[string]any{"role": role}, accountHooks{check: check})
}

// administratorsRule is an account change's check by a domain rule that
// needs the number of other enabled administrators (locked as
// otherAdministrators locks them).
func (db *DB) administratorsRule(rule func(a domain.Account, otherAdmins int) error) func(*gorm.DB, *domain.Account) error {
	return func(tx *gorm.DB, a *domain.Account) error {
		others, err := db.otherAdministrators(tx, a.ID)
		if err != nil {
			return err
		}
		return rule(*a, others)
	}
}

// otherAdministrators counts the enabled administrators other than account
// id. On PostgreSQL it locks every enabled administrator's row, in id order,
// until tx ends: two administrators demoting each other at once wait for
// one another, and the second then sees it would leave none. SQLite has one
// writer at a time.
func (db *DB) otherAdministrators(tx *gorm.DB, id string) (int, error) {
	q := tx.Model(&domain.Account{}).Where("role = ? AND disabled = ?", domain.RoleAdministrator, false).Order("id")
	if db.Dialect == DialectPostgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var ids []string
	if err := q.Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("store: find the administrators: %w", err)
	}
	others := 0
	for _, admin := range ids {
		if admin != id {
			others++
		}
	}
	return others, nil
}

// accountHooks are what an account change does beside setting its fields,
// in its transaction: check (when not nil) may refuse the change before it
// is made, seeing the account as it was; also (when not nil) does more
// after it.
type accountHooks struct {
	check func(tx *gorm.DB, a *domain.Account) error
	also  func(tx *gorm.DB, a *domain.Account, now time.Time) error
}

// updateAccount sets fields of account name, ends its sessions, runs hooks
// in the same transaction, and audits action with what detail says of the
// account as it was; a detail of "" means there is nothing to change.
func (db *DB) updateAccount(ctx context.Context, name, actor, action string, detail func(*domain.Account) string,
	fields map[string]any, hooks accountHooks) error {
	now := db.Now()
	fields["updated_at"] = now
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var a domain.Account
		if err := tx.Where("username = ?", name).Take(&a).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return domain.Errorf(domain.ENOTFOUND, "No account named %q", name)
		} else if err != nil {
			return fmt.Errorf("store: find account %s: %w", name, err)
		}
		if hooks.check != nil {
			if err := hooks.check(tx, &a); err != nil {
				return err
			}
		}
		what := detail(&a)
		if what == "" {
			return nil
		}
		if err := tx.Model(&domain.Account{}).Where("id = ?", a.ID).Updates(fields).Error; err != nil {
			return fmt.Errorf("store: update account %s: %w", name, err)
		}
		if err := tx.Where("account_id = ?", a.ID).Delete(&domain.Session{}).Error; err != nil {
			return fmt.Errorf("store: end sessions of %s: %w", name, err)
		}
		if hooks.also != nil {
			if err := hooks.also(tx, &a, now); err != nil {
				return err
			}
		}
		return addAudit(tx, domain.AuditEvent{At: now, Actor: actor, Action: action, Target: name, Detail: what})
	})
}

// RecordLogin notes a successful sign-in.
func (db *DB) RecordLogin(ctx context.Context, accountID string, at time.Time) error {
	err := db.write.WithContext(ctx).Model(&domain.Account{}).Where("id = ?", accountID).Update("last_login_at", at).Error
	if err != nil {
		return fmt.Errorf("store: record login: %w", err)
	}
	return nil
}

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s *domain.Session) error {
	if err := db.write.WithContext(ctx).Create(s).Error; err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// sessionAccountRow is a session and its account read together.
type sessionAccountRow struct {
	Session domain.Session `gorm:"embedded;embeddedPrefix:s_"`
	Account domain.Account `gorm:"embedded;embeddedPrefix:a_"`
	// AccountFound is false when the session names an account that does
	// not exist (the LEFT JOIN found none).
	AccountFound bool `gorm:"column:account_found"`
}

// SessionAccount returns the session with this token hash and its account.
// Every signed-in request asks for them, so it is one query, not two.
func (db *DB) SessionAccount(ctx context.Context, tokenHash string) (*domain.Session, *domain.Account, error) {
	var rows []sessionAccountRow
	// Find, not Scan (see RunsSummary).
	err := db.read.WithContext(ctx).Raw(`SELECT
		s.token_hash AS s_token_hash, s.account_id AS s_account_id, s.created_at AS s_created_at,
		s.last_seen_at AS s_last_seen_at, s.expires_at AS s_expires_at, s.flash AS s_flash,
		a.id IS NOT NULL AS account_found,
		a.id AS a_id, a.username AS a_username, a.role AS a_role,
		a.password_hash AS a_password_hash, a.disabled AS a_disabled,
		a.created_at AS a_created_at, a.updated_at AS a_updated_at,
		a.last_login_at AS a_last_login_at
		FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id
		WHERE s.token_hash = ?`, tokenHash).Find(&rows).Error
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("store: find session: %w", err)
	case len(rows) == 0:
		return nil, nil, domain.Errorf(domain.EUNAUTHORIZED, "session not found")
	case !rows[0].AccountFound:
		return nil, nil, fmt.Errorf("store: find session account: %w", gorm.ErrRecordNotFound)
	}
	return &rows[0].Session, &rows[0].Account, nil
}

// TouchSession moves a session's last-seen time.
func (db *DB) TouchSession(ctx context.Context, tokenHash string, at time.Time) error {
	err := db.write.WithContext(ctx).Model(&domain.Session{}).Where("token_hash = ?", tokenHash).Update("last_seen_at", at).Error
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// SetFlash stores a one-time message for the session's next page.
func (db *DB) SetFlash(ctx context.Context, tokenHash, msg string) error {
	err := db.write.WithContext(ctx).Model(&domain.Session{}).Where("token_hash = ?", tokenHash).Update("flash", msg).Error
	if err != nil {
		return fmt.Errorf("store: set flash: %w", err)
	}
	return nil
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	if err := db.write.WithContext(ctx).Where("token_hash = ?", tokenHash).Delete(&domain.Session{}).Error; err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their absolute expiry or idle
// for longer than idle.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	res := db.write.WithContext(ctx).Where("expires_at < ? OR last_seen_at < ?", now, now.Add(-idle)).Delete(&domain.Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// LoginBlockedUntil returns the latest time until which any of keys is
// blocked after repeated failures; zero when none is.
func (db *DB) LoginBlockedUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error) {
	var rows []domain.LoginFailure
	if err := db.read.WithContext(ctx).Where("key IN ? AND blocked_until > ?", keys, now).Find(&rows).Error; err != nil {
		return time.Time{}, fmt.Errorf("store: login throttle: %w", err)
	}
	var until time.Time
	for _, r := range rows {
		if r.BlockedUntil != nil && r.BlockedUntil.After(until) {
			until = *r.BlockedUntil
		}
	}
	return until, nil
}

// RecordLoginFailure counts a failed sign-in for each key within window
// (from the key's first failure, half-open); a key that reaches limit
// failures is blocked for block. A block that has ended starts the count
// afresh.
func (db *DB) RecordLoginFailure(ctx context.Context, keys []string, now time.Time, window time.Duration, limit int, block time.Duration) error {
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, key := range keys {
			var f domain.LoginFailure
			err := tx.Where("key = ?", key).Take(&f).Error
			switch {
			case errors.Is(err, gorm.ErrRecordNotFound):
				f = domain.LoginFailure{Key: key, FirstAt: now}
			case err != nil:
				return fmt.Errorf("store: read login failures: %w", err)
			}
			if now.Sub(f.FirstAt) >= window || f.BlockedUntil != nil && !now.Before(*f.BlockedUntil) {
				f.Count, f.FirstAt, f.BlockedUntil = 0, now, nil
			}
			f.Count++
			if f.Count >= limit {
				until := now.Add(block)
				f.BlockedUntil = &until
			}
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&f).Error; err != nil {
				return fmt.Errorf("store: count login failure: %w", err)
			}
		}
		return nil
	})
}

// ClearLoginFailures forgets the failures of keys after a successful sign-in.
func (db *DB) ClearLoginFailures(ctx context.Context, keys []string) error {
	if err := db.write.WithContext(ctx).Where("key IN ?", keys).Delete(&domain.LoginFailure{}).Error; err != nil {
		return fmt.Errorf("store: clear login failures: %w", err)
	}
	return nil
}
