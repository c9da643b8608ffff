package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"

	"idm/internal/store"
)

func runExport(ctx context.Context, io IO, args []string) error {
	s := newSetup("export", io)
	fs := s.fs
	// JSON lines is the only format; the flag is accepted so that scripts
	// say what they expect.
	fs.Bool("json", true, "print JSON lines, one user per line, in the import format (the only format)")
	if err := s.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: export takes no arguments", ErrUsage)
	}
	return s.withStore(ctx, func(db *store.DB) error {
		w := bufio.NewWriter(io.Stdout)
		enc := json.NewEncoder(w)
		// Users are walked in chunks, so an export of a large store does not
		// hold it in memory.
		err := db.EachUserDetail(ctx, 500, func(users []store.UserDetail) error {
			for i := range users {
				if err := enc.Encode(recordOf(&users[i])); err != nil {
					return fmt.Errorf("export: write: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("export: write: %w", err)
		}
		return nil
	})
}
