package store

import (
	"database/sql"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// independentRun is how many of records, from the first, share no
// username, stable id, credential or certificate with each other: records
// that ImportUsers can decide against the store as it is before any of
// them, and write together.
func independentRun(records []UserDetail) int {
	seen := map[recordKey]bool{}
	for i := range records {
		shared := false
		eachRecordKey(&records[i], func(k recordKey) { shared = shared || seen[k] })
		if shared && i > 0 {
			return i
		}
		eachRecordKey(&records[i], func(k recordKey) { seen[k] = true })
	}
	return len(records)
}

// recordKey is a key by which a record finds what it writes: kind 'u' a
// username, 'd' a stable id, 'c' a credential's type and serial, 'k' a
// certificate's issuer and serial. Records that share none are decided
// independently of each other.
type recordKey struct {
	kind byte
	a, b string
}

// eachRecordKey hands fn each key of record d.
func eachRecordKey(d *UserDetail, fn func(recordKey)) {
	fn(recordKey{kind: 'u', a: d.Username})
	if d.DirectoryID != nil {
		fn(recordKey{kind: 'd', a: *d.DirectoryID})
	}
	for _, c := range d.Credentials {
		fn(recordKey{kind: 'c', a: string(c.Type), b: c.Serial})
		for _, k := range c.Certificates {
			fn(recordKey{kind: 'k', a: k.Issuer, b: k.Serial})
		}
	}
}

// pair is a two-part key: type and serial, issuer and serial, user and role.
type pair [2]string

// importState is what a run of independent records finds stored, read in a
// few queries, and what the records accepted so far will write.
type importState struct {
	tx      *gorm.DB
	dialect string
	now     time.Time
	// conn is the connection tx runs on, for COPY (PostgreSQL; nil on
	// SQLite).
	conn *sql.Conn

	users   map[string]*domain.User // by username
	dirUser map[string]string       // stable id → the id of the user holding it
	creds   map[pair]*domain.Credential
	certs   map[pair]*domain.Certificate
	roles   map[string]*domain.Role // by name, stored or planned
	// newRoles are the planned roles; a role is written once a record
	// that needs it is accepted.
	newRoles map[string]bool
	assigns  map[pair]*domain.RoleAssignment

	w importWrites
}

// importWrites are the rows to insert and the updates to make.
type importWrites struct {
	users   []domain.User
	roles   []domain.Role
	creds   []domain.Credential
	certs   []domain.Certificate
	assigns []domain.RoleAssignment
	updates []rowUpdate
}

// rowUpdate sets columns of one row.
type rowUpdate struct {
	table, id string
	set       map[string]any
}

// loadImportState reads, in tx (running on conn, nil on SQLite), the
// users, credentials, certificates, roles and role assignments that records
// refer to.
func loadImportState(tx *gorm.DB, conn *sql.Conn, dialect string, records []UserDetail, now time.Time) (*importState, error) {
	st := &importState{
		tx: tx, conn: conn, dialect: dialect, now: now,
		users: map[string]*domain.User{}, dirUser: map[string]string{}, creds: map[pair]*domain.Credential{},
		certs: map[pair]*domain.Certificate{}, roles: map[string]*domain.Role{}, newRoles: map[string]bool{},
		assigns: map[pair]*domain.RoleAssignment{},
	}
	var names, dirIDs, roleNames []string
	var credKeys, certKeys []pair
	roleSeen := map[string]bool{}
	for _, d := range records {
		names = append(names, d.Username)
		if d.DirectoryID != nil {
			dirIDs = append(dirIDs, *d.DirectoryID)
		}
		for _, c := range d.Credentials {
			credKeys = append(credKeys, pair{string(c.Type), c.Serial})
			for _, k := range c.Certificates {
				certKeys = append(certKeys, pair{k.Issuer, k.Serial})
			}
		}
		for _, r := range d.Roles {
			if !roleSeen[r.RoleName] {
				roleSeen[r.RoleName] = true
				roleNames = append(roleNames, r.RoleName)
			}
		}
	}
	st.w.reserve(records)
	if err := st.loadUsers(names, dirIDs); err != nil {
		return nil, err
	}
	if err := st.loadHoldings(credKeys, certKeys, roleNames); err != nil {
		return nil, err
	}
	return st, nil
}

// find loads the rows of T's table whose column is one of vals, a chunk at
// a time, and hands each row to keep.
func find[T any](st *importState, column string, vals []string, keep func(*T)) error {
	return chunks(vals, func(c []string) error {
		var rows []T
		if err := st.tx.Where(inStrings(st.dialect, column, c)).Find(&rows).Error; err != nil {
			return err
		}
		for i := range rows {
			keep(&rows[i])
		}
		return nil
	})
}

// findPairs loads the rows of table (T's) whose two-column unique key cols
// is one of keys, a chunk at a time, and hands each row to keep.
//
// On PostgreSQL each key is looked up on its own through the key's unique
// index (a lateral join over the keys). With "first = ANY(…) AND second =
// ANY(…)" the planner, going by the statistics of a table the import is
// filling, scanned the index on the first column alone and compared every
// row it found against the whole second array: about 0.8 s a statement at
// 20,000 credentials, most of the import's time. The rows are read with
// Find, not Scan: GORM's Scan renders every statement with its arguments
// as text for its logger, whatever the log level, and these arguments are
// arrays of hundreds of keys.
func findPairs[T any](st *importState, table string, cols [2]string, keys []pair, keep func(*T)) error {
	return chunks(keys, func(c []pair) error {
		first, second := make([]string, len(c)), make([]string, len(c))
		for i, k := range c {
			first[i], second[i] = k[0], k[1]
		}
		var rows []T
		var err error
		if st.dialect == DialectPostgres {
			err = st.tx.Raw("SELECT t.* FROM unnest(?::text[], ?::text[]) AS k(a, b) CROSS JOIN LATERAL "+
				"(SELECT * FROM "+table+" WHERE "+cols[0]+" = k.a AND "+cols[1]+" = k.b LIMIT 1) AS t",
				pgTextArray(first), pgTextArray(second)).Find(&rows).Error
		} else {
			slices.Sort(first)
			err = st.tx.Where(cols[0]+" IN ? AND "+cols[1]+" IN ?", slices.Compact(first), second).Find(&rows).Error
		}
		if err != nil {
			return err
		}
		for i := range rows {
			keep(&rows[i])
		}
		return nil
	})
}

func (st *importState) loadUsers(names, dirIDs []string) error {
	if err := find(st, "username", names, func(u *domain.User) { st.users[u.Username] = u }); err != nil {
		return fmt.Errorf("store: import: find users: %w", err)
	}
	if err := find(st, "directory_id", dirIDs, func(u *domain.User) { st.dirUser[*u.DirectoryID] = u.ID }); err != nil {
		return fmt.Errorf("store: import: find users by stable id: %w", err)
	}
	ids := make([]string, 0, len(st.users))
	for _, u := range st.users {
		ids = append(ids, u.ID)
	}
	if err := find(st, "user_id", ids, func(a *domain.RoleAssignment) { st.assigns[pair{a.UserID, a.RoleID}] = a }); err != nil {
		return fmt.Errorf("store: import: find role assignments: %w", err)
	}
	return nil
}

func (st *importState) loadHoldings(credKeys, certKeys []pair, roleNames []string) error {
	if err := findPairs(st, "credentials", [2]string{"type", "serial"}, credKeys,
		func(c *domain.Credential) { st.creds[pair{string(c.Type), c.Serial}] = c }); err != nil {
		return fmt.Errorf("store: import: find credentials: %w", err)
	}
	if err := findPairs(st, "certificates", [2]string{"issuer", "serial"}, certKeys,
		func(c *domain.Certificate) { st.certs[pair{c.Issuer, c.Serial}] = c }); err != nil {
		return fmt.Errorf("store: import: find certificates: %w", err)
	}
	if err := find(st, "name", roleNames, func(r *domain.Role) { st.roles[r.Name] = r }); err != nil {
		return fmt.Errorf("store: import: find roles: %w", err)
	}
	return nil
}

// plan decides record d against the store: its writes join the batch's,
// or, when it conflicts with what is stored, it is rejected and plans
// nothing.
func (st *importState) plan(d *UserDetail) ImportResult {
	before := st.w.lengths()
	changed, err := st.planRecord(d, &st.w)
	if err != nil {
		st.w.truncate(before)
		return ImportResult{Err: err}
	}
	for _, r := range d.Roles {
		if name := r.RoleName; st.newRoles[name] {
			delete(st.newRoles, name)
			st.w.roles = append(st.w.roles, *st.roles[name])
		}
	}
	return ImportResult{Changed: changed}
}

// reserve makes room in w for the rows of records, which mostly create
// everything they name (the import of a new directory): the rows are
// appended in place, without growing the slices record by record.
func (w *importWrites) reserve(records []UserDetail) {
	var creds, certs, assigns int
	for i := range records {
		creds += len(records[i].Credentials)
		for _, c := range records[i].Credentials {
			certs += len(c.Certificates)
		}
		assigns += len(records[i].Roles)
	}
	w.users = make([]domain.User, 0, len(records))
	w.creds = make([]domain.Credential, 0, creds)
	w.certs = make([]domain.Certificate, 0, certs)
	w.assigns = make([]domain.RoleAssignment, 0, assigns)
}

// lengths are how many rows of each kind w holds.
func (w *importWrites) lengths() [5]int {
	return [5]int{len(w.users), len(w.creds), len(w.certs), len(w.assigns), len(w.updates)}
}

// truncate drops the rows appended to w since it held n (lengths).
func (w *importWrites) truncate(n [5]int) {
	w.users, w.creds, w.certs = w.users[:n[0]], w.creds[:n[1]], w.certs[:n[2]]
	w.assigns, w.updates = w.assigns[:n[3]], w.updates[:n[4]]
}

// planRecord appends to w what record d writes; it changes nothing of st
// but the roles it plans.
func (st *importState) planRecord(d *UserDetail, w *importWrites) (bool, error) {
	userID, changed, err := st.planUser(d, w)
	if err != nil {
		return false, err
	}
	for _, c := range d.Credentials {
		ch, err := st.planCredential(userID, c, w)
		if err != nil {
			return false, err
		}
		changed = changed || ch
	}
	for _, r := range d.Roles {
		role := st.roles[r.RoleName]
		if role == nil {
			role = &domain.Role{ID: NewID(), Name: r.RoleName}
			st.roles[r.RoleName], st.newRoles[r.RoleName] = role, true
		}
		switch ra := st.assigns[pair{userID, role.ID}]; {
		case ra == nil:
			w.assigns = append(w.assigns, domain.RoleAssignment{ID: NewID(), UserID: userID, RoleID: role.ID, AssignedAt: st.now})
			changed = true
		case ra.WithdrawnAt != nil:
			w.updates = append(w.updates, rowUpdate{"role_assignments", ra.ID, map[string]any{"withdrawn_at": nil, "withdrawn_by": nil, "assigned_at": st.now}})
			changed = true
		}
	}
	return changed, nil
}

// planUser plans the user of record d: created, or the stored one updated.
// A stable id held by another user is a conflict.
func (st *importState) planUser(d *UserDetail, w *importWrites) (string, bool, error) {
	conflict := domain.Errorf(domain.ECONFLICT, "user %s conflicts with a stored one (a unique value is already taken)", d.Username)
	u := st.users[d.Username]
	if u == nil {
		if d.DirectoryID != nil && st.dirUser[*d.DirectoryID] != "" {
			return "", false, conflict
		}
		nu := d.User
		nu.ID, nu.CreatedAt, nu.UpdatedAt = NewID(), st.now, st.now
		w.users = append(w.users, nu)
		return nu.ID, true, nil
	}
	set := importedUserChanges(u, &d.User)
	if len(set) == 0 {
		return u.ID, false, nil
	}
	if owner := st.dirUser[deref(d.DirectoryID)]; d.DirectoryID != nil && owner != "" && owner != u.ID {
		return "", false, conflict
	}
	set["updated_at"] = st.now
	w.updates = append(w.updates, rowUpdate{"users", u.ID, set})
	return u.ID, true, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// planCredential plans credential c of user userID with its certificates.
func (st *importState) planCredential(userID string, c CredentialDetail, w *importWrites) (bool, error) {
	changed := false
	what := "credential " + string(c.Type) + " " + c.Serial
	have := st.creds[pair{string(c.Type), c.Serial}]
	switch {
	case have == nil:
		nc := c.Credential
		nc.ID, nc.UserID, nc.CreatedAt, nc.UpdatedAt = NewID(), userID, st.now, st.now
		w.creds = append(w.creds, nc)
		have, changed = &nc, true
	case have.UserID != userID:
		return false, domain.Errorf(domain.ECONFLICT, "%s belongs to another user", what)
	case have.State != c.State:
		w.updates = append(w.updates, rowUpdate{"credentials", have.ID, map[string]any{"state": c.State, "updated_at": st.now}})
		changed = true
	}
	for _, cert := range c.Certificates {
		hc := st.certs[pair{cert.Issuer, cert.Serial}]
		switch {
		case hc == nil:
			nc := cert
			nc.ID, nc.CredentialID, nc.CreatedAt, nc.UpdatedAt = NewID(), have.ID, st.now, st.now
			w.certs = append(w.certs, nc)
			changed = true
		case hc.CredentialID != have.ID:
			return false, domain.Errorf(domain.ECONFLICT, "certificate %s of %s belongs to another credential", cert.Serial, cert.Issuer)
		default:
			if set := importedCertificateChanges(hc, &cert); len(set) > 0 {
				set["updated_at"] = st.now
				w.updates = append(w.updates, rowUpdate{"certificates", hc.ID, set})
				changed = true
			}
		}
	}
	return changed, nil
}

// flush writes what the accepted records planned: parents before children
// (the foreign keys are checked at each insert), then the updates.
func (st *importState) flush() error {
	w := &st.w
	if err := insertBulk(st.tx, st.conn, st.dialect, w.users); err != nil {
		return fmt.Errorf("store: import users: %w", err)
	}
	if err := insertBulk(st.tx, st.conn, st.dialect, w.roles); err != nil {
		return fmt.Errorf("store: import roles: %w", err)
	}
	if err := insertBulk(st.tx, st.conn, st.dialect, w.creds); err != nil {
		return fmt.Errorf("store: import credentials: %w", err)
	}
	if err := insertBulk(st.tx, st.conn, st.dialect, w.certs); err != nil {
		return fmt.Errorf("store: import certificates: %w", err)
	}
	if err := insertBulk(st.tx, st.conn, st.dialect, w.assigns); err != nil {
		return fmt.Errorf("store: import role assignments: %w", err)
	}
	for _, u := range w.updates {
		if err := st.tx.Table(u.table).Where("id = ?", u.id).Updates(u.set).Error; err != nil {
			return fmt.Errorf("store: import: update %s %s: %w", u.table, u.id, err)
		}
	}
	return nil
}
