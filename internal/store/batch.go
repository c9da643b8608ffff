package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// StateChange moves one credential to State.
type StateChange struct {
	ID    string
	State domain.CredentialState
}

// CertificateChange moves one certificate to State, with the revocation
// reason and time that go with it.
type CertificateChange struct {
	ID        string
	State     domain.CertificateState
	Reason    *string
	RevokedAt *time.Time
}

// UserChange is everything a run does to one user; it commits as a whole or
// not at all, so no user is ever half-changed.
type UserChange struct {
	Create        *domain.User   // a new user, or nil
	UserID        string         // the existing user to change
	UserFields    map[string]any // columns of the existing user to set (updated_at included by the caller)
	Credentials   []StateChange
	Certificates  []CertificateChange
	WithdrawRoles []string // role assignment ids
	Item          *domain.RunItem
}

// FailedChange is a change that could not be written, with the reason.
type FailedChange struct {
	Change *UserChange
	Err    error
}

// ApplyChanges writes changes in one transaction. When that transaction
// fails, it retries each change in its own transaction, so that one bad
// entry cannot sink the others; the changes that still fail are returned.
// The error is for a fault that stops the whole batch (context cancelled,
// database gone, or, with a ForRun context, ErrRunTakenOver: the run is no
// longer this instance's, and nothing was written).
func (db *DB) ApplyChanges(ctx context.Context, changes []*UserChange, now time.Time, withdrawnBy string) ([]FailedChange, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	// The page's new users and run items go in with COPY on PostgreSQL.
	err := db.bulkTx(ctx, func(tx *gorm.DB, conn *sql.Conn) error {
		if err := db.fenceRun(ctx, tx); err != nil {
			return err
		}
		return writeChanges(tx, conn, db.Dialect, changes, now, withdrawnBy)
	})
	if err == nil {
		return nil, nil
	}
	if errors.Is(err, ErrRunTakenOver) {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("store: write batch: %w", ctx.Err())
	}
	if len(changes) == 1 {
		return []FailedChange{{Change: changes[0], Err: err}}, nil
	}
	var failed []FailedChange
	for _, c := range changes {
		err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := db.fenceRun(ctx, tx); err != nil {
				return err
			}
			return writeChanges(tx, nil, db.Dialect, []*UserChange{c}, now, withdrawnBy)
		})
		if err != nil {
			if errors.Is(err, ErrRunTakenOver) {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("store: write user: %w", ctx.Err())
			}
			failed = append(failed, FailedChange{Change: c, Err: err})
		}
	}
	return failed, nil
}

// writeChanges issues a few statements for a whole batch: inserts for new
// users and run items (COPY on conn when it is set, multi-row INSERTs
// otherwise), and one UPDATE per target state for
// credentials, certificates and roles; only field updates of existing users
// go one statement per user, because their values differ.
func writeChanges(tx *gorm.DB, conn *sql.Conn, dialect string, changes []*UserChange, now time.Time, withdrawnBy string) error {
	b := batchWrite{
		tx: tx, conn: conn, dialect: dialect, now: now,
		credsByState: map[domain.CredentialState][]string{}, certsByKey: map[certKey][]string{},
		stateOnly: map[stateKey][]string{}, stateSet: map[stateKey]map[string]any{},
	}
	for _, c := range changes {
		if err := b.add(c); err != nil {
			return err
		}
	}
	return b.flush(withdrawnBy)
}

// certKey groups certificate changes that one UPDATE can write.
type certKey struct {
	state  domain.CertificateState
	reason string
	revAt  bool
}

// stateKey groups users whose only change is their state and source.
type stateKey struct{ state, source string }

// batchWrite gathers a batch's changes by the statement that writes them.
type batchWrite struct {
	tx *gorm.DB
	// conn is the connection tx runs on, for COPY (PostgreSQL), or nil.
	conn    *sql.Conn
	dialect string
	now     time.Time

	creates       []domain.User
	items         []domain.RunItem
	credsByState  map[domain.CredentialState][]string
	certsByKey    map[certKey][]string
	certRevokedAt *time.Time
	roles         []string
	stateOnly     map[stateKey][]string
	stateSet      map[stateKey]map[string]any
}

// add files one user's change; an update of fields that differ per user is
// written at once.
func (b *batchWrite) add(c *UserChange) error {
	if c.Create != nil {
		b.creates = append(b.creates, *c.Create)
	}
	if c.UserID != "" && len(c.UserFields) > 0 {
		if st, src, ok := onlyState(c.UserFields); ok {
			k := stateKey{st, src}
			b.stateOnly[k] = append(b.stateOnly[k], c.UserID)
			b.stateSet[k] = c.UserFields
		} else if err := b.tx.Table("users").Where("id = ?", c.UserID).Updates(c.UserFields).Error; err != nil {
			return fmt.Errorf("store: update user %s: %w", c.UserID, err)
		}
	}
	for _, s := range c.Credentials {
		b.credsByState[s.State] = append(b.credsByState[s.State], s.ID)
	}
	for _, s := range c.Certificates {
		k := certKey{state: s.State, revAt: s.RevokedAt != nil}
		if s.Reason != nil {
			k.reason = *s.Reason
		}
		if s.RevokedAt != nil {
			b.certRevokedAt = s.RevokedAt
		}
		b.certsByKey[k] = append(b.certsByKey[k], s.ID)
	}
	b.roles = append(b.roles, c.WithdrawRoles...)
	if c.Item != nil {
		b.items = append(b.items, *c.Item)
	}
	return nil
}

// flush writes what add gathered: new users first, run items last (they
// refer to the users).
func (b *batchWrite) flush(withdrawnBy string) error {
	if err := insertBulk(b.tx, b.conn, b.dialect, b.creates); err != nil {
		return fmt.Errorf("store: create users: %w", err)
	}
	for k, ids := range b.stateOnly {
		if err := b.update("users", ids, b.stateSet[k]); err != nil {
			return fmt.Errorf("store: set users %s: %w", k.state, err)
		}
	}
	for st, ids := range b.credsByState {
		if err := b.update("credentials", ids, map[string]any{"state": st, "updated_at": b.now}); err != nil {
			return fmt.Errorf("store: set credentials %s: %w", st, err)
		}
	}
	for k, ids := range b.certsByKey {
		set := map[string]any{"state": k.state, "updated_at": b.now}
		if k.reason != "" {
			set["revocation_reason"] = k.reason
		}
		if k.revAt {
			set["revoked_at"] = *b.certRevokedAt
		}
		if err := b.update("certificates", ids, set); err != nil {
			return fmt.Errorf("store: set certificates %s: %w", k.state, err)
		}
	}
	if err := chunks(b.roles, func(c []string) error {
		return b.tx.Table("role_assignments").Where(inStrings(b.dialect, "id", c)).Where("withdrawn_at IS NULL").
			Updates(map[string]any{"withdrawn_at": b.now, "withdrawn_by": withdrawnBy}).Error
	}); err != nil {
		return fmt.Errorf("store: withdraw roles: %w", err)
	}
	if err := insertBulk(b.tx, b.conn, b.dialect, b.items); err != nil {
		return fmt.Errorf("store: add run items: %w", err)
	}
	return nil
}

// rowsPerInsert is how many rows of columns columns one INSERT carries. The
// SQLite driver binds each parameter by scanning the statement's arguments
// (time quadratic in their number: at 3,400 parameters a statement, binding
// took more CPU than SQLite itself), so a statement carries about 1,000
// parameters there; PostgreSQL takes up to 65,535 and its cost per row
// falls until a few hundred rows.
func rowsPerInsert(dialect string, columns int) int {
	budget := 250
	if dialect == DialectPostgres {
		budget = 20000
	}
	return max(1, min(500, budget/max(1, columns)))
}

// update sets the same columns on the rows ids of table, a chunk of ids
// per statement.
func (b *batchWrite) update(table string, ids []string, set map[string]any) error {
	return chunks(ids, func(c []string) error {
		return b.tx.Table(table).Where(inStrings(b.dialect, "id", c)).Updates(set).Error
	})
}

// onlyState reports whether fields set nothing but the state and source
// (and the time columns, which are the same for a whole batch): such updates
// are grouped into one statement per state and source.
func onlyState(fields map[string]any) (state, source string, ok bool) {
	for k, v := range fields {
		switch k {
		case "state":
			st, isState := v.(domain.UserState)
			if !isState {
				return "", "", false
			}
			state = string(st)
		case "source":
			source, _ = v.(string)
		case "updated_at", "last_synced_at":
		default:
			return "", "", false
		}
	}
	return state, source, state != ""
}
