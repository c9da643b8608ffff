// Command idm is the Identity Manager LDAP batch synchronization server and
// its command-line tools.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"idm/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], cli.IO{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	if err != nil && cli.ExitCode(err) != 0 {
		fmt.Fprintln(os.Stderr, "idm:", err)
	}
	os.Exit(cli.ExitCode(err))
}
