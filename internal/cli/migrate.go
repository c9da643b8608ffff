package cli

import (
	"context"
	"fmt"

	"idm/internal/config"
)

func runMigrate(ctx context.Context, io IO, args []string) error {
	var cfg config.Config
	fs := newFlagSet("migrate", io)
	cfg.Register(fs, io.Getenv)
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := openStore(ctx, &cfg, io)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(io.Stdout, "database is up to date")
	return nil
}
