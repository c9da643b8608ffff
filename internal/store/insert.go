package store

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// insertRows inserts rows with multi-row INSERTs, as many rows a statement
// as suit the dialect (rowsPerInsert). On SQLite the statement for a full
// chunk is prepared once and run for every chunk: parsing a multi-row
// INSERT cost as much as executing it there. PostgreSQL's driver already
// keeps its statements prepared per connection.
func insertRows[T any](tx *gorm.DB, dialect string, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	per := rowsPerInsert(dialect, reflect.TypeFor[T]().NumField())
	if dialect != DialectSQLite || len(rows) <= per {
		return tx.CreateInBatches(&rows, per).Error
	}
	stmt := &gorm.Statement{DB: tx}
	if err := stmt.Parse(new(T)); err != nil {
		return fmt.Errorf("store: insert: %w", err)
	}
	ins := newPreparedInsert(tx, stmt.Schema)
	prepared, err := tx.Statement.ConnPool.PrepareContext(tx.Statement.Context, ins.sql(per))
	if err != nil {
		return fmt.Errorf("store: insert into %s: %w", stmt.Schema.Table, err)
	}
	defer prepared.Close()
	for len(rows) >= per {
		if _, err := prepared.ExecContext(tx.Statement.Context, ins.args(rows[:per])...); err != nil {
			return fmt.Errorf("store: insert into %s: %w", stmt.Schema.Table, err)
		}
		rows = rows[per:]
	}
	if len(rows) > 0 {
		return tx.CreateInBatches(&rows, per).Error
	}
	return nil
}

// preparedInsert builds a multi-row INSERT of a model's columns and its
// arguments.
type preparedInsert struct {
	tx     *gorm.DB
	table  string
	fields []*schema.Field
}

func newPreparedInsert(tx *gorm.DB, s *schema.Schema) *preparedInsert {
	p := &preparedInsert{tx: tx, table: s.Table}
	for _, f := range s.Fields {
		if f.DBName != "" && f.Creatable {
			p.fields = append(p.fields, f)
		}
	}
	return p
}

// sql is the INSERT of n rows.
func (p *preparedInsert) sql(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO `" + p.table + "` (")
	for i, f := range p.fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("`" + f.DBName + "`")
	}
	b.WriteString(") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(p.fields)), ",") + ")"
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// args are the values of rows, column after column, row after row; a zero
// creation or update time is filled in as GORM fills it in.
func (p *preparedInsert) args(rows any) []any {
	rv := reflect.ValueOf(rows)
	out := make([]any, 0, rv.Len()*len(p.fields))
	ctx := p.tx.Statement.Context
	var now time.Time
	for i := range rv.Len() {
		row := rv.Index(i)
		for _, f := range p.fields {
			v, zero := f.ValueOf(ctx, row)
			if zero && (f.AutoCreateTime > 0 || f.AutoUpdateTime > 0) {
				if now.IsZero() {
					now = p.tx.NowFunc()
				}
				v = now
			}
			out = append(out, v)
		}
	}
	return out
}
