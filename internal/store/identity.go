// The identity store: users, their credentials, certificates and role
// assignments. This file holds the types the other identity files share and
// the IN-list helpers; users_lookup.go has the engine's look-ups,
// users_search.go the Operator's search and the export walk, batch.go the
// engine's batch writer, import.go the import of one record.

package store

import (
	"github.com/jackc/pgx/v5/pgtype"

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

// pgTextArray is vals as a PostgreSQL text[] parameter. pgx sends it in
// its binary form (a struct, so GORM does not expand it into a list as it
// would a slice). A driver.Valuer rendering the array literal cost twice:
// pgx parsed the literal back into an array to send it binary (measured in
// the import's profile: 13 % of the client's CPU).
func pgTextArray(vals []string) pgtype.Array[string] {
	return pgtype.Array[string]{Elements: vals, Dims: []pgtype.ArrayDimension{{Length: int32(len(vals)), LowerBound: 1}}, Valid: true}
}
