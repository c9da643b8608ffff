package cli

// Subcommands whose implementation is being written in this session; each is
// removed from this file as its own file lands.

import (
	"context"
	"errors"
)

var errPending = errors.New("this subcommand is not built yet")

func runJob(context.Context, IO, []string) error     { return errPending }
func runImport(context.Context, IO, []string) error  { return errPending }
func runExport(context.Context, IO, []string) error  { return errPending }
func runUser(context.Context, IO, []string) error    { return errPending }
func runLDAP(context.Context, IO, []string) error    { return errPending }
