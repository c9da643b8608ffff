package store

import (
	"reflect"

	"gorm.io/gorm"
)

// insertRows inserts rows with multi-row INSERTs, as many rows a statement
// as suit the dialect.
func insertRows[T any](tx *gorm.DB, dialect string, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(&rows, rowsPerInsert(dialect, reflect.TypeFor[T]().NumField())).Error
}
