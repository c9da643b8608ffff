package cli

import (
	"encoding/json"
	"io"

	"idm/internal/store"
)

// WriteUserRecord writes u as one line of the import and export format
// (docs/import-format.md), as idm export writes it: for programs that make
// import files, such as the benchmark.
func WriteUserRecord(w io.Writer, u *store.UserDetail) error {
	return json.NewEncoder(w).Encode(recordOf(u))
}
