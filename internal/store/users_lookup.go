package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"idm/internal/domain"
)

// UsersByDirectoryIDs returns the users holding any of the stable directory
// identifiers ids, keyed by identifier, in one query per chunk.
func (db *DB) UsersByDirectoryIDs(ctx context.Context, ids []string) (map[string]*domain.User, error) {
	return db.usersBy(ctx, "directory_id", ids, func(u *domain.User) string { return *u.DirectoryID })
}

// UsersByUsernames returns the users with any of the usernames names, keyed
// by username, in one query per chunk.
func (db *DB) UsersByUsernames(ctx context.Context, names []string) (map[string]*domain.User, error) {
	return db.usersBy(ctx, "username", names, func(u *domain.User) string { return u.Username })
}

// UsersByIDs returns the users with any of the ids, keyed by id, in one
// query per chunk.
func (db *DB) UsersByIDs(ctx context.Context, ids []string) (map[string]*domain.User, error) {
	return db.usersBy(ctx, "id", ids, func(u *domain.User) string { return u.ID })
}

// usersBy returns the users whose column is one of vals, keyed by key.
func (db *DB) usersBy(ctx context.Context, column string, vals []string, key func(*domain.User) string) (map[string]*domain.User, error) {
	out := make(map[string]*domain.User, len(vals))
	err := chunks(vals, func(c []string) error {
		users, err := db.scanUsers(ctx, db.inStrings(column, c))
		if err != nil {
			return fmt.Errorf("store: users by %s: %w", strings.ReplaceAll(column, "_", " "), err)
		}
		for i := range users {
			out[key(&users[i])] = &users[i]
		}
		return nil
	})
	return out, err
}

// userColumns are the users table's columns in the order scanUser reads
// them: every field of domain.User (TestScanUsers holds the two together).
const userColumns = "id, username, directory_id, dn, given_name, surname, display_name, email, phone, title, " +
	"department, employee_number, state, source, created_at, updated_at, last_synced_at"

// scanUsers reads the users that where selects, scanning each row into its
// fields directly. The runs look users up a page at a time (every entry of
// every run); GORM's reflective scan was a quarter of the client's CPU in
// an active run with nothing to change.
func (db *DB) scanUsers(ctx context.Context, where clause.Expr) ([]domain.User, error) {
	rows, err := db.read.WithContext(ctx).Raw("SELECT "+userColumns+" FROM users WHERE ?", where).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []domain.User
	for rows.Next() {
		users = append(users, domain.User{})
		if err := scanUser(rows, &users[len(users)-1]); err != nil {
			return nil, err
		}
	}
	return users, rows.Err()
}

// scanUser reads one row of userColumns into u.
func scanUser(rows *sql.Rows, u *domain.User) error {
	var state string
	var dirID sql.NullString
	var synced sql.NullTime
	if err := rows.Scan(&u.ID, &u.Username, &dirID, &u.DN, &u.GivenName, &u.Surname, &u.DisplayName, &u.Email,
		&u.Phone, &u.Title, &u.Department, &u.EmployeeNumber, &state, &u.Source, &u.CreatedAt, &u.UpdatedAt, &synced); err != nil {
		return err
	}
	u.State = domain.UserState(state)
	if dirID.Valid {
		u.DirectoryID = &dirID.String
	}
	if synced.Valid {
		u.LastSyncedAt = &synced.Time
	}
	return nil
}

// PendingHoldings returns which of the users userIDs hold anything the
// inactive job would still change at now: a credential outside its end
// state, a certificate still valid in a state it would leave, an active
// role assignment (domain.DeactivationEnds). It answers from one query per
// chunk, with the holdings' indexes, without loading them: a user it does
// not name has nothing to deactivate.
func (db *DB) PendingHoldings(ctx context.Context, userIDs []string, now time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	err := chunks(userIDs, func(ids []string) error {
		sql, args := pendingHoldingsQuery(db.Dialect, ids, now)
		var found []string
		if err := db.read.WithContext(ctx).Raw(sql, args...).Scan(&found).Error; err != nil {
			return fmt.Errorf("store: pending holdings: %w", err)
		}
		for _, id := range found {
			out[id] = true
		}
		return nil
	})
	return out, err
}

// pendingHoldingsQuery is PendingHoldings' statement for the users ids.
func pendingHoldingsQuery(dialect string, ids []string, now time.Time) (string, []any) {
	in := inStrings(dialect, "c.user_id", ids)
	var creds, certs []string
	var credArgs, certArgs []any
	for _, e := range domain.DeactivationEnds() {
		creds = append(creds, "(c.type = ? AND c.state <> ?)")
		credArgs = append(credArgs, e.Type, e.State)
		if len(e.Moving) > 0 {
			certs = append(certs, "(c.type = ? AND k.state IN ?)")
			certArgs = append(certArgs, e.Type, e.Moving)
		}
	}
	sql := "SELECT c.user_id FROM credentials c WHERE " + in.SQL + " AND (" + strings.Join(creds, " OR ") + ")" +
		" UNION ALL SELECT c.user_id FROM credentials c JOIN certificates k ON k.credential_id = c.id WHERE " + in.SQL +
		" AND (k.not_after > ? OR k.not_after = ?) AND (" + strings.Join(certs, " OR ") + ")" +
		" UNION ALL SELECT c.user_id FROM role_assignments c WHERE " + in.SQL + " AND c.withdrawn_at IS NULL"
	args := append(append([]any{}, in.Vars...), credArgs...)
	// A zero not_after is a certificate still valid (NextCertificateState).
	args = append(append(append(args, in.Vars...), now, time.Time{}), certArgs...)
	return sql, append(args, in.Vars...)
}

// LoadHoldings loads the credentials, certificates and role assignments of
// the users userIDs in three queries per chunk, keyed by user id. With
// activeRolesOnly, withdrawn role assignments are left out.
func (db *DB) LoadHoldings(ctx context.Context, userIDs []string, activeRolesOnly bool) (map[string]*Holdings, error) {
	return db.loadHoldings(ctx, userIDs, holdingsColumns{activeRolesOnly: activeRolesOnly})
}

// HoldingsToEnd loads what the inactive job decides on for the users
// userIDs: their credentials (id, user, type, serial, state), the
// certificates on them (id, credential, serial, state, not_after) and their
// active role assignments (id, user, role name), in the order the job
// lists changes. The other columns are left empty: reading only these
// made the load a third cheaper.
func (db *DB) HoldingsToEnd(ctx context.Context, userIDs []string) (map[string]*Holdings, error) {
	return db.loadHoldings(ctx, userIDs, holdingsColumns{
		creds:           []string{"id", "user_id", "type", "serial", "state"},
		certs:           []string{"id", "credential_id", "serial", "state", "not_after"},
		roles:           "role_assignments.id, role_assignments.user_id, roles.name AS role_name",
		activeRolesOnly: true,
	})
}

// holdingsColumns says what loadHoldings reads: the columns of each table
// (all when empty) and whether withdrawn role assignments are left out.
type holdingsColumns struct {
	creds, certs    []string
	roles           string
	activeRolesOnly bool
}

func (db *DB) loadHoldings(ctx context.Context, userIDs []string, cols holdingsColumns) (map[string]*Holdings, error) {
	out := make(map[string]*Holdings, len(userIDs))
	for _, id := range userIDs {
		out[id] = &Holdings{}
	}
	q := db.read.WithContext(ctx)
	err := chunks(userIDs, func(ids []string) error {
		var creds []domain.Credential
		if err := selecting(q, cols.creds).Where(db.inStrings("user_id", ids)).Order("user_id, type, serial").Find(&creds).Error; err != nil {
			return fmt.Errorf("store: load credentials: %w", err)
		}
		certsByCred, err := db.certificatesOf(q, creds, cols.certs)
		if err != nil {
			return err
		}
		for _, c := range creds {
			h := out[c.UserID]
			h.Credentials = append(h.Credentials, CredentialDetail{Credential: c, Certificates: certsByCred[c.ID]})
		}
		roleCols := cols.roles
		if roleCols == "" {
			roleCols = "role_assignments.*, roles.name AS role_name"
		}
		var rows []RoleDetail
		rq := q.Table("role_assignments").Select(roleCols).
			Joins("JOIN roles ON roles.id = role_assignments.role_id").
			Where(db.inStrings("role_assignments.user_id", ids))
		if cols.activeRolesOnly {
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

// certificatesOf loads the certificates on creds (columns cols, all when
// empty), keyed by credential id.
func (db *DB) certificatesOf(q *gorm.DB, creds []domain.Credential, cols []string) (map[string][]domain.Certificate, error) {
	credIDs := make([]string, len(creds))
	for i, c := range creds {
		credIDs[i] = c.ID
	}
	certsByCred := map[string][]domain.Certificate{}
	err := chunks(credIDs, func(cids []string) error {
		var certs []domain.Certificate
		if err := selecting(q, cols).Where(db.inStrings("credential_id", cids)).Order("credential_id, issuer, serial").Find(&certs).Error; err != nil {
			return fmt.Errorf("store: load certificates: %w", err)
		}
		for _, c := range certs {
			certsByCred[c.CredentialID] = append(certsByCred[c.CredentialID], c)
		}
		return nil
	})
	return certsByCred, err
}

// selecting is q reading only columns, or every column when there are none.
func selecting(q *gorm.DB, columns []string) *gorm.DB {
	if len(columns) == 0 {
		return q
	}
	return q.Select(columns)
}

// CountUsers counts users in state (any state when "") from source (any
// source when "").
func (db *DB) CountUsers(ctx context.Context, state domain.UserState, source string) (int, error) {
	q := db.read.WithContext(ctx).Model(&domain.User{})
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
		q := db.read.WithContext(ctx).Where("id > ?", after)
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
