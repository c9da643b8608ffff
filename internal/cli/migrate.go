package cli

import (
	"context"
	"fmt"

	"idm/internal/store"
)

func runMigrate(ctx context.Context, io IO, args []string) error {
	s := newSetup("migrate", io)
	return s.parseWithStore(ctx, args, func(*store.DB) error {
		fmt.Fprintln(io.Stdout, "database is up to date")
		return nil
	})
}
