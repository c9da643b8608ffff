// Package migrations embeds the versioned SQL schema, one set of files for
// PostgreSQL and SQLite.
package migrations

import "embed"

// FS holds the goose migrations.
//
//go:embed *.sql
var FS embed.FS
