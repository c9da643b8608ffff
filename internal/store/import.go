package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// ImportResult is how one record of ImportUsers went.
type ImportResult struct {
	// Changed says the record wrote something; false when the store was
	// already as the record says.
	Changed bool
	// Err is why the record was rejected: nothing of it was written.
	Err error
}

// ImportUser creates or updates one user with its credentials, certificates
// and role assignments, all in one transaction: a record is written whole or
// not at all. The user is found by username, credentials by type and serial,
// certificates by issuer and serial, roles by name (created when missing).
// A role listed in d is (re)assigned; assignments not listed are left as
// they are. Re-importing the same record changes nothing; changed reports
// whether anything was written.
func (db *DB) ImportUser(ctx context.Context, d UserDetail) (changed bool, err error) {
	res, err := db.ImportUsers(ctx, []UserDetail{d})
	if err != nil {
		return false, err
	}
	return res[0].Changed, res[0].Err
}

// ImportUsers imports records as ImportUser imports one, with one result
// per record, in a few transactions and statements: the records are split
// into runs in which no two records share a username, stable id,
// credential or certificate (usually the whole batch), and each run is one
// transaction that reads what the records refer to in a few queries, decides
// every record in memory (a record that conflicts with what is stored is
// rejected then, and nothing of it is planned) and writes the rest with
// multi-row inserts. Should that transaction fail anyway, the run is written
// again record by record, each under a savepoint, so that the record at
// fault is rejected alone and the others are written.
//
// The error is a fault that stopped the import (the context ended, the
// database went away): the results then cover only the records before the
// run that failed, which were written; nothing of the others was.
func (db *DB) ImportUsers(ctx context.Context, records []UserDetail) ([]ImportResult, error) {
	return db.importUsers(ctx, records, nil)
}

// importUsers is ImportUsers for a batch of an Importer: its first
// transaction commits only once the batch before (nil: none) has ended
// written (afterEarlier); the ones after it follow it anyway.
func (db *DB) importUsers(ctx context.Context, records []UserDetail, before *ImportBatch) ([]ImportResult, error) {
	results := make([]ImportResult, len(records))
	for start := 0; start < len(records); {
		end := start + independentRun(records[start:])
		if err := db.importRun(ctx, records[start:end], results[start:end], before); err != nil {
			return results[:start], err
		}
		start, before = end, nil
	}
	return results, nil
}

// importRun writes records (which share no key) in one transaction, and
// record by record under savepoints when that fails; either commits after
// the batch before.
func (db *DB) importRun(ctx context.Context, records []UserDetail, out []ImportResult, before *ImportBatch) error {
	now := db.Now()
	err := db.bulkTx(ctx, func(tx *gorm.DB, conn *sql.Conn) error {
		st, err := loadImportState(tx, conn, db.Dialect, records, now)
		if err != nil {
			return err
		}
		for i := range records {
			out[i] = st.plan(&records[i])
		}
		if err := st.flush(); err != nil {
			return err
		}
		if err := runImportHook("batch", records); err != nil {
			return err
		}
		return afterEarlier(ctx, before)
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("store: import: %w", ctx.Err())
	}
	if errors.Is(err, errEarlierBatch) {
		return err
	}
	// The records are decided again one by one against what the batch
	// before wrote.
	if err := afterEarlier(ctx, before); err != nil {
		return err
	}
	// Record by record is many times slower: say so, so that a slow import
	// is explained (a record the database refuses is the usual cause).
	slog.Debug("import: a batch was refused whole, writing it record by record", "records", len(records), "err", err)
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := runImportHook("records", records); err != nil {
			return err
		}
		for i, d := range records {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("store: import: %w", err)
			}
			sp := fmt.Sprintf("record_%d", i)
			if err := tx.SavePoint(sp).Error; err != nil {
				return fmt.Errorf("store: import: savepoint: %w", err)
			}
			changed, err := importOne(tx, d, now)
			if err != nil {
				if rerr := tx.RollbackTo(sp).Error; rerr != nil {
					return fmt.Errorf("store: import: roll back a rejected record: %w", rerr)
				}
			}
			out[i] = ImportResult{Changed: changed && err == nil, Err: err}
		}
		return nil
	})
}

// importHook, set by tests only, is called in each transaction of a batch
// before it commits: stage "batch" in the batch's own transaction (before
// it waits for the batch before), "records" in the record-by-record one.
// An error it returns fails that transaction, as a fault would.
var importHook func(stage string, records []UserDetail) error

func runImportHook(stage string, records []UserDetail) error {
	if importHook == nil {
		return nil
	}
	return importHook(stage, records)
}

// importOne writes record d in tx, one statement at a time: the path for
// records that a batch could not write.
func importOne(tx *gorm.DB, d UserDetail, now time.Time) (bool, error) {
	changed := false
	var u domain.User
	err := tx.Where("username = ?", d.Username).Take(&u).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		u = d.User
		u.ID, u.CreatedAt, u.UpdatedAt = NewID(), now, now
		if err := tx.Create(&u).Error; err != nil {
			return false, importError("user "+d.Username, err)
		}
		changed = true
	case err != nil:
		return false, fmt.Errorf("store: import: find user %s: %w", d.Username, err)
	default:
		ch, err := updateImportedUser(tx, &u, &d.User, now)
		if err != nil {
			return false, err
		}
		changed = ch
	}
	for _, c := range d.Credentials {
		ch, err := importCredential(tx, u.ID, c, now)
		if err != nil {
			return false, err
		}
		changed = changed || ch
	}
	for _, r := range d.Roles {
		ch, err := importRole(tx, u.ID, r.RoleName, now)
		if err != nil {
			return false, err
		}
		changed = changed || ch
	}
	return changed, nil
}

// updateImportedUser brings the stored user u in line with the record's
// want, writing only what differs.
func updateImportedUser(tx *gorm.DB, u, want *domain.User, now time.Time) (bool, error) {
	set := importedUserChanges(u, want)
	if len(set) == 0 {
		return false, nil
	}
	set["updated_at"] = now
	if err := tx.Table("users").Where("id = ?", u.ID).Updates(set).Error; err != nil {
		return false, importError("user "+want.Username, err)
	}
	return true, nil
}

// importedUserChanges are the columns of the stored user u that differ from
// the record's want.
func importedUserChanges(u, want *domain.User) map[string]any {
	set := map[string]any{}
	if u.DirectoryID == nil != (want.DirectoryID == nil) || u.DirectoryID != nil && *u.DirectoryID != *want.DirectoryID {
		set["directory_id"] = want.DirectoryID
	}
	for i, f := range domain.UserFields(u) {
		if w := domain.UserFields(want)[i]; f[1] != w[1] {
			set[f[0]] = w[1]
		}
	}
	if u.State != want.State {
		set["state"] = want.State
	}
	if u.Source != want.Source {
		set["source"] = want.Source
	}
	return set
}

func importError(what string, err error) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return domain.Errorf(domain.ECONFLICT, "%s conflicts with a stored one (a unique value is already taken)", what)
	}
	return fmt.Errorf("store: import %s: %w", what, err)
}

func importCredential(tx *gorm.DB, userID string, c CredentialDetail, now time.Time) (bool, error) {
	changed := false
	var have domain.Credential
	what := "credential " + string(c.Type) + " " + c.Serial
	err := tx.Where("type = ? AND serial = ?", c.Type, c.Serial).Take(&have).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		have = c.Credential
		have.ID, have.UserID, have.CreatedAt, have.UpdatedAt = NewID(), userID, now, now
		if err := tx.Create(&have).Error; err != nil {
			return false, importError(what, err)
		}
		changed = true
	case err != nil:
		return false, fmt.Errorf("store: import: find %s: %w", what, err)
	case have.UserID != userID:
		return false, domain.Errorf(domain.ECONFLICT, "%s belongs to another user", what)
	case have.State != c.State:
		if err := tx.Table("credentials").Where("id = ?", have.ID).
			Updates(map[string]any{"state": c.State, "updated_at": now}).Error; err != nil {
			return false, importError(what, err)
		}
		changed = true
	}
	for _, cert := range c.Certificates {
		ch, err := importCertificate(tx, have.ID, cert, now)
		if err != nil {
			return false, err
		}
		changed = changed || ch
	}
	return changed, nil
}

// importCertificate creates or updates one certificate of credential credID.
func importCertificate(tx *gorm.DB, credID string, cert domain.Certificate, now time.Time) (bool, error) {
	var hc domain.Certificate
	cwhat := "certificate " + cert.Serial + " of " + cert.Issuer
	err := tx.Where("issuer = ? AND serial = ?", cert.Issuer, cert.Serial).Take(&hc).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		hc = cert
		hc.ID, hc.CredentialID, hc.CreatedAt, hc.UpdatedAt = NewID(), credID, now, now
		if err := tx.Create(&hc).Error; err != nil {
			return false, importError(cwhat, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("store: import: find %s: %w", cwhat, err)
	case hc.CredentialID != credID:
		return false, domain.Errorf(domain.ECONFLICT, "%s belongs to another credential", cwhat)
	}
	set := importedCertificateChanges(&hc, &cert)
	if len(set) == 0 {
		return false, nil
	}
	set["updated_at"] = now
	if err := tx.Table("certificates").Where("id = ?", hc.ID).Updates(set).Error; err != nil {
		return false, importError(cwhat, err)
	}
	return true, nil
}

// importedCertificateChanges are the columns of the stored certificate hc
// that differ from the record's cert.
func importedCertificateChanges(hc, cert *domain.Certificate) map[string]any {
	set := map[string]any{}
	if hc.State != cert.State {
		set["state"] = cert.State
	}
	if hc.Subject != cert.Subject {
		set["subject"] = cert.Subject
	}
	if !hc.NotBefore.Equal(cert.NotBefore) {
		set["not_before"] = cert.NotBefore
	}
	if !hc.NotAfter.Equal(cert.NotAfter) {
		set["not_after"] = cert.NotAfter
	}
	if !equalStr(hc.RevocationReason, cert.RevocationReason) {
		set["revocation_reason"] = cert.RevocationReason
	}
	if hc.RevokedAt == nil != (cert.RevokedAt == nil) || hc.RevokedAt != nil && !hc.RevokedAt.Equal(*cert.RevokedAt) {
		set["revoked_at"] = cert.RevokedAt
	}
	return set
}

func equalStr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func importRole(tx *gorm.DB, userID, name string, now time.Time) (bool, error) {
	changed := false
	var role domain.Role
	err := tx.Where("name = ?", name).Take(&role).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		role = domain.Role{ID: NewID(), Name: name}
		if err := tx.Create(&role).Error; err != nil {
			return false, importError("role "+name, err)
		}
		changed = true
	case err != nil:
		return false, fmt.Errorf("store: import: find role %s: %w", name, err)
	}
	var ra domain.RoleAssignment
	err = tx.Where("user_id = ? AND role_id = ?", userID, role.ID).Take(&ra).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		ra = domain.RoleAssignment{ID: NewID(), UserID: userID, RoleID: role.ID, AssignedAt: now}
		if err := tx.Create(&ra).Error; err != nil {
			return false, importError("role assignment "+name, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("store: import: find role assignment %s: %w", name, err)
	case ra.WithdrawnAt != nil:
		if err := tx.Table("role_assignments").Where("id = ?", ra.ID).
			Updates(map[string]any{"withdrawn_at": nil, "withdrawn_by": nil, "assigned_at": now}).Error; err != nil {
			return false, importError("role assignment "+name, err)
		}
		return true, nil
	}
	return changed, nil
}
