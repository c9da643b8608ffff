package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"idm/internal/domain"
)

// inChunk bounds the number of values in one IN list: SQLite and PostgreSQL
// both cap bound parameters, and a page may hold up to 5000 entries.
const inChunk = 900

// CredentialDetail is a credential with its certificates.
type CredentialDetail struct {
	domain.Credential
	Certificates []domain.Certificate `json:"certificates"`
}

// RoleDetail is a role assignment with the role's name.
type RoleDetail struct {
	domain.RoleAssignment
	RoleName string `gorm:"column:role_name"`
}

// Holdings is what was issued to a user: credentials with their
// certificates, and role assignments.
type Holdings struct {
	Credentials []CredentialDetail
	Roles       []RoleDetail
}

// UserDetail is a user with everything issued to them.
type UserDetail struct {
	domain.User
	Holdings
}

// chunks calls fn with successive slices of at most inChunk values.
func chunks[T any](vals []T, fn func([]T) error) error {
	for len(vals) > 0 {
		n := min(len(vals), inChunk)
		if err := fn(vals[:n]); err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}

// inStrings is the condition "column is one of vals". On PostgreSQL it
// binds one text[] parameter: pgx prepares and caches statements, and after
// a few executions PostgreSQL may switch to a generic plan, in which a long
// IN ($1, …, $500) list is compared linearly against every row, about 50
// times slower than an index lookup with = ANY($1).
func (db *DB) inStrings(column string, vals []string) clause.Expr {
	return inStrings(db.Dialect, column, vals)
}

func inStrings(dialect, column string, vals []string) clause.Expr {
	if dialect == DialectPostgres {
		return gorm.Expr(column+" = ANY(?::text[])", pgTextArray(vals))
	}
	return gorm.Expr(column+" IN ?", vals)
}

// pgTextArray is a PostgreSQL text[] parameter.
type pgTextArray []string

// Value renders the array literal: every element quoted, with backslashes
// and double quotes escaped, so that no value can break out of it.
func (a pgTextArray) Value() (driver.Value, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range v {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// UsersByDirectoryIDs returns the users holding any of the stable directory
// identifiers ids, keyed by identifier, in one query per chunk.
func (db *DB) UsersByDirectoryIDs(ctx context.Context, ids []string) (map[string]*domain.User, error) {
	out := make(map[string]*domain.User, len(ids))
	err := chunks(ids, func(c []string) error {
		var users []domain.User
		if err := db.Read.WithContext(ctx).Where(db.inStrings("directory_id", c)).Find(&users).Error; err != nil {
			return fmt.Errorf("store: users by directory id: %w", err)
		}
		for i := range users {
			out[*users[i].DirectoryID] = &users[i]
		}
		return nil
	})
	return out, err
}

// UsersByUsernames returns the users with any of the usernames names, keyed
// by username, in one query per chunk.
func (db *DB) UsersByUsernames(ctx context.Context, names []string) (map[string]*domain.User, error) {
	out := make(map[string]*domain.User, len(names))
	err := chunks(names, func(c []string) error {
		var users []domain.User
		if err := db.Read.WithContext(ctx).Where(db.inStrings("username", c)).Find(&users).Error; err != nil {
			return fmt.Errorf("store: users by username: %w", err)
		}
		for i := range users {
			out[users[i].Username] = &users[i]
		}
		return nil
	})
	return out, err
}

// LoadHoldings loads the credentials, certificates and role assignments of
// the users userIDs in three queries per chunk, keyed by user id. With
// activeRolesOnly, withdrawn role assignments are left out.
func (db *DB) LoadHoldings(ctx context.Context, userIDs []string, activeRolesOnly bool) (map[string]*Holdings, error) {
	out := make(map[string]*Holdings, len(userIDs))
	for _, id := range userIDs {
		out[id] = &Holdings{}
	}
	q := db.Read.WithContext(ctx)
	err := chunks(userIDs, func(ids []string) error {
		var creds []domain.Credential
		if err := q.Where(db.inStrings("user_id", ids)).Order("user_id, type, serial").Find(&creds).Error; err != nil {
			return fmt.Errorf("store: load credentials: %w", err)
		}
		credIDs := make([]string, len(creds))
		for i, c := range creds {
			credIDs[i] = c.ID
		}
		certsByCred := map[string][]domain.Certificate{}
		if err := chunks(credIDs, func(cids []string) error {
			var certs []domain.Certificate
			if err := q.Where(db.inStrings("credential_id", cids)).Order("credential_id, issuer, serial").Find(&certs).Error; err != nil {
				return fmt.Errorf("store: load certificates: %w", err)
			}
			for _, c := range certs {
				certsByCred[c.CredentialID] = append(certsByCred[c.CredentialID], c)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, c := range creds {
			h := out[c.UserID]
			h.Credentials = append(h.Credentials, CredentialDetail{Credential: c, Certificates: certsByCred[c.ID]})
		}
		var rows []RoleDetail
		rq := q.Table("role_assignments").
			Select("role_assignments.*, roles.name AS role_name").
			Joins("JOIN roles ON roles.id = role_assignments.role_id").
			Where(db.inStrings("role_assignments.user_id", ids))
		if activeRolesOnly {
			rq = rq.Where("role_assignments.withdrawn_at IS NULL")
		}
		if err := rq.Order("role_assignments.user_id, roles.name").Scan(&rows).Error; err != nil {
			return fmt.Errorf("store: load role assignments: %w", err)
		}
		for _, r := range rows {
			h := out[r.UserID]
			h.Roles = append(h.Roles, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CountUsers counts users in state (any state when "") from source (any
// source when "").
func (db *DB) CountUsers(ctx context.Context, state domain.UserState, source string) (int, error) {
	q := db.Read.WithContext(ctx).Model(&domain.User{})
	if state != "" {
		q = q.Where("state = ?", state)
	}
	if source != "" {
		q = q.Where("source = ?", source)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return int(n), nil
}

// UserFilter selects users for EachUser; empty fields select everything.
type UserFilter struct {
	State  domain.UserState
	Source string
	// Columns, when set, loads only these columns (id is always loaded).
	Columns []string
}

// EachUser calls fn with the users matching f, chunk at a time in id order,
// so that callers walk every user without holding them all in memory.
func (db *DB) EachUser(ctx context.Context, f UserFilter, chunk int, fn func([]domain.User) error) error {
	after := ""
	for {
		q := db.Read.WithContext(ctx).Where("id > ?", after)
		if f.State != "" {
			q = q.Where("state = ?", f.State)
		}
		if f.Source != "" {
			q = q.Where("source = ?", f.Source)
		}
		if len(f.Columns) > 0 {
			q = q.Select(append([]string{"id"}, f.Columns...))
		}
		var users []domain.User
		if err := q.Order("id").Limit(chunk).Find(&users).Error; err != nil {
			return fmt.Errorf("store: walk users: %w", err)
		}
		if len(users) == 0 {
			return nil
		}
		if err := fn(users); err != nil {
			return err
		}
		if len(users) < chunk {
			return nil
		}
		after = users[len(users)-1].ID
	}
}

// UserQuery searches users; Text matches username, names and email.
type UserQuery struct {
	Text   string
	State  domain.UserState
	Offset int
	Limit  int
}

// SearchUsers finds users by username, name or email (case-insensitive
// substring) and state, ordered by username, with the total count.
func (db *DB) SearchUsers(ctx context.Context, uq UserQuery) ([]domain.User, int, error) {
	q := db.Read.WithContext(ctx).Model(&domain.User{})
	if t := strings.TrimSpace(uq.Text); t != "" {
		like := "%" + escapeLike(strings.ToLower(t)) + "%"
		q = q.Where("LOWER(username) LIKE ? ESCAPE '\\' OR LOWER(given_name) LIKE ? ESCAPE '\\' OR LOWER(surname) LIKE ? ESCAPE '\\' OR LOWER(display_name) LIKE ? ESCAPE '\\' OR LOWER(email) LIKE ? ESCAPE '\\'",
			like, like, like, like, like)
	}
	if uq.State != "" {
		q = q.Where("state = ?", uq.State)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: count users: %w", err)
	}
	limit := uq.Limit
	if limit <= 0 {
		limit = 50
	}
	var users []domain.User
	if err := q.Order("username").Offset(uq.Offset).Limit(limit).Find(&users).Error; err != nil {
		return nil, 0, fmt.Errorf("store: search users: %w", err)
	}
	return users, int(total), nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UserByUsername returns the user with its credentials, certificates and
// every role assignment (withdrawn ones too).
func (db *DB) UserByUsername(ctx context.Context, username string) (*UserDetail, error) {
	return db.userBy(ctx, "username = ?", username)
}

// UserByID returns the user with its credentials, certificates and roles.
func (db *DB) UserByID(ctx context.Context, id string) (*UserDetail, error) {
	return db.userBy(ctx, "id = ?", id)
}

func (db *DB) userBy(ctx context.Context, cond string, arg string) (*UserDetail, error) {
	var u domain.User
	err := db.Read.WithContext(ctx).Where(cond, arg).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no user %q", arg)
	} else if err != nil {
		return nil, fmt.Errorf("store: get user %q: %w", arg, err)
	}
	h, err := db.LoadHoldings(ctx, []string{u.ID}, false)
	if err != nil {
		return nil, err
	}
	return &UserDetail{User: u, Holdings: *h[u.ID]}, nil
}

// EachUserDetail walks every user with holdings, chunk users at a time, in
// id order (for export).
func (db *DB) EachUserDetail(ctx context.Context, chunk int, fn func([]UserDetail) error) error {
	return db.EachUser(ctx, UserFilter{}, chunk, func(users []domain.User) error {
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		hs, err := db.LoadHoldings(ctx, ids, false)
		if err != nil {
			return err
		}
		out := make([]UserDetail, len(users))
		for i, u := range users {
			out[i] = UserDetail{User: u, Holdings: *hs[u.ID]}
		}
		return fn(out)
	})
}

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
// database gone).
func (db *DB) ApplyChanges(ctx context.Context, changes []*UserChange, now time.Time, withdrawnBy string) ([]FailedChange, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	err := db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return writeChanges(tx, db.Dialect, changes, now, withdrawnBy)
	})
	if err == nil {
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("store: write batch: %w", ctx.Err())
	}
	if len(changes) == 1 {
		return []FailedChange{{Change: changes[0], Err: err}}, nil
	}
	var failed []FailedChange
	for _, c := range changes {
		err := db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return writeChanges(tx, db.Dialect, []*UserChange{c}, now, withdrawnBy)
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("store: write user: %w", ctx.Err())
			}
			failed = append(failed, FailedChange{Change: c, Err: err})
		}
	}
	return failed, nil
}

// writeChanges issues a few statements for a whole batch: multi-row inserts
// for new users and run items, and one UPDATE per target state for
// credentials, certificates and roles; only field updates of existing users
// go one statement per user, because their values differ.
func writeChanges(tx *gorm.DB, dialect string, changes []*UserChange, now time.Time, withdrawnBy string) error {
	var creates []domain.User
	var items []domain.RunItem
	credsByState := map[domain.CredentialState][]string{}
	type certKey struct {
		state  domain.CertificateState
		reason string
		revAt  bool
	}
	certsByKey := map[certKey][]string{}
	var certRevokedAt *time.Time
	var roles []string
	type stateKey struct{ state, source string }
	stateOnly := map[stateKey][]string{}
	stateSet := map[stateKey]map[string]any{}
	for _, c := range changes {
		if c.Create != nil {
			creates = append(creates, *c.Create)
		}
		if c.UserID != "" && len(c.UserFields) > 0 {
			if st, src, ok := onlyState(c.UserFields); ok {
				k := stateKey{st, src}
				stateOnly[k] = append(stateOnly[k], c.UserID)
				stateSet[k] = c.UserFields
			} else if err := tx.Table("users").Where("id = ?", c.UserID).Updates(c.UserFields).Error; err != nil {
				return fmt.Errorf("store: update user %s: %w", c.UserID, err)
			}
		}
		for _, s := range c.Credentials {
			credsByState[s.State] = append(credsByState[s.State], s.ID)
		}
		for _, s := range c.Certificates {
			k := certKey{state: s.State, revAt: s.RevokedAt != nil}
			if s.Reason != nil {
				k.reason = *s.Reason
			}
			if s.RevokedAt != nil {
				certRevokedAt = s.RevokedAt
			}
			certsByKey[k] = append(certsByKey[k], s.ID)
		}
		roles = append(roles, c.WithdrawRoles...)
		if c.Item != nil {
			items = append(items, *c.Item)
		}
	}
	if len(creates) > 0 {
		if err := tx.CreateInBatches(&creates, 200).Error; err != nil {
			return fmt.Errorf("store: create users: %w", err)
		}
	}
	for k, ids := range stateOnly {
		if err := chunks(ids, func(c []string) error {
			return tx.Table("users").Where(inStrings(dialect, "id", c)).Updates(stateSet[k]).Error
		}); err != nil {
			return fmt.Errorf("store: set users %s: %w", k.state, err)
		}
	}
	for st, ids := range credsByState {
		if err := chunks(ids, func(c []string) error {
			return tx.Table("credentials").Where(inStrings(dialect, "id", c)).
				Updates(map[string]any{"state": st, "updated_at": now}).Error
		}); err != nil {
			return fmt.Errorf("store: set credentials %s: %w", st, err)
		}
	}
	for k, ids := range certsByKey {
		set := map[string]any{"state": k.state, "updated_at": now}
		if k.reason != "" {
			set["revocation_reason"] = k.reason
		}
		if k.revAt {
			set["revoked_at"] = *certRevokedAt
		}
		if err := chunks(ids, func(c []string) error {
			return tx.Table("certificates").Where(inStrings(dialect, "id", c)).Updates(set).Error
		}); err != nil {
			return fmt.Errorf("store: set certificates %s: %w", k.state, err)
		}
	}
	if len(roles) > 0 {
		if err := chunks(roles, func(c []string) error {
			return tx.Table("role_assignments").Where(inStrings(dialect, "id", c)).Where("withdrawn_at IS NULL").
				Updates(map[string]any{"withdrawn_at": now, "withdrawn_by": withdrawnBy}).Error
		}); err != nil {
			return fmt.Errorf("store: withdraw roles: %w", err)
		}
	}
	if len(items) > 0 {
		if err := tx.CreateInBatches(&items, 500).Error; err != nil {
			return fmt.Errorf("store: add run items: %w", err)
		}
	}
	return nil
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

// ImportUser creates or updates one user with its credentials, certificates
// and role assignments, all in one transaction: a record is written whole or
// not at all. The user is found by username, credentials by type and serial,
// certificates by issuer and serial, roles by name (created when missing).
// A role listed in d is (re)assigned; assignments not listed are left as
// they are. Re-importing the same record changes nothing; changed reports
// whether anything was written.
func (db *DB) ImportUser(ctx context.Context, d UserDetail) (changed bool, err error) {
	now := db.Now()
	err = db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		changed = false
		var u domain.User
		err := tx.Where("username = ?", d.Username).Take(&u).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			u = d.User
			u.ID, u.CreatedAt, u.UpdatedAt = NewID(), now, now
			if err := tx.Create(&u).Error; err != nil {
				return importError("user "+d.Username, err)
			}
			changed = true
		case err != nil:
			return fmt.Errorf("store: import: find user %s: %w", d.Username, err)
		default:
			set := map[string]any{}
			want := d.User
			if u.DirectoryID == nil != (want.DirectoryID == nil) || u.DirectoryID != nil && *u.DirectoryID != *want.DirectoryID {
				set["directory_id"] = want.DirectoryID
			}
			for i, f := range domain.UserFields(&u) {
				if w := domain.UserFields(&want)[i]; f[1] != w[1] {
					set[f[0]] = w[1]
				}
			}
			if u.State != want.State {
				set["state"] = want.State
			}
			if u.Source != want.Source {
				set["source"] = want.Source
			}
			if len(set) > 0 {
				set["updated_at"] = now
				if err := tx.Table("users").Where("id = ?", u.ID).Updates(set).Error; err != nil {
					return importError("user "+d.Username, err)
				}
				changed = true
			}
		}
		for _, c := range d.Credentials {
			ch, err := importCredential(tx, u.ID, c, now)
			if err != nil {
				return err
			}
			changed = changed || ch
		}
		for _, r := range d.Roles {
			ch, err := importRole(tx, u.ID, r.RoleName, now)
			if err != nil {
				return err
			}
			changed = changed || ch
		}
		return nil
	})
	return changed, err
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
		var hc domain.Certificate
		cwhat := "certificate " + cert.Serial + " of " + cert.Issuer
		err := tx.Where("issuer = ? AND serial = ?", cert.Issuer, cert.Serial).Take(&hc).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			hc = cert
			hc.ID, hc.CredentialID, hc.CreatedAt, hc.UpdatedAt = NewID(), have.ID, now, now
			if err := tx.Create(&hc).Error; err != nil {
				return false, importError(cwhat, err)
			}
			changed = true
		case err != nil:
			return false, fmt.Errorf("store: import: find %s: %w", cwhat, err)
		case hc.CredentialID != have.ID:
			return false, domain.Errorf(domain.ECONFLICT, "%s belongs to another credential", cwhat)
		default:
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
			if len(set) > 0 {
				set["updated_at"] = now
				if err := tx.Table("certificates").Where("id = ?", hc.ID).Updates(set).Error; err != nil {
					return false, importError(cwhat, err)
				}
				changed = true
			}
		}
	}
	return changed, nil
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
