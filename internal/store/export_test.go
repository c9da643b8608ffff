package store

import (
	"context"
	"database/sql"
	"reflect"

	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// SetImportHook sets the hook called in each transaction of an import
// batch before it commits (see importHook) and returns a function that
// removes it. The test must not run imports in parallel with others.
func SetImportHook(hook func(stage string, records []UserDetail) error) (restore func()) {
	importHook = hook
	return func() { importHook = nil }
}

// CopyRows writes rows in one transaction with COPY (PostgreSQL): as the
// store writes them, or with pgx's CopyFrom when withPgx is set. encoded
// reports whether the store wrote them with its own encoder.
func CopyRows[T any](ctx context.Context, db *DB, rows []T, withPgx bool) (encoded bool, err error) {
	err = db.bulkTx(ctx, func(tx *gorm.DB, conn *sql.Conn) error {
		if !withPgx {
			return copyRows(ctx, tx, conn, rows)
		}
		s, fields, err := copyColumns[T](tx)
		if err != nil {
			return err
		}
		return conn.Raw(func(dc any) error { return copyWith(ctx, dc.(*stdlib.Conn).Conn(), s, fields, rows) })
	})
	e, _ := copyEncoders.Load(reflect.TypeFor[T]())
	enc, _ := e.(*copyEncoder)
	return enc != nil, err
}

// UserColumns are the columns the store's user look-ups read, in order.
const UserColumns = userColumns
