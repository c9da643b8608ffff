package cli

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, io IO, args []string) error {
	s := newSetup("migrate", io)
	if err := s.parse(args); err != nil {
		return err
	}
	if _, err := s.open(ctx); err != nil {
		return err
	}
	defer s.close()
	fmt.Fprintln(io.Stdout, "database is up to date")
	return nil
}
