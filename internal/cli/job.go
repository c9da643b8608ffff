package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
)

const jobUsage = "usage: idm job run active|inactive [--dry-run] [--json]"

func runJob(ctx context.Context, io IO, args []string) error {
	if err := wantAction(io, args, "job", "run", jobUsage); err != nil {
		return err
	}
	st := newSetup("job run", io)
	dryRun := st.fs.Bool("dry-run", false, "compute and record what the run would change, and write nothing to users, credentials, certificates or roles")
	asJSON := st.fs.Bool("json", false, "print the run record as JSON")
	arg, err := st.onlyArgument(args[1:], jobUsage, "job run needs one job, active or inactive")
	if err != nil {
		return err
	}
	key, err := domain.ParseJobKey(arg)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrUsage, domain.ErrorMessage(err))
	}
	db, err := st.open(ctx)
	if err != nil {
		return err
	}
	defer st.close()
	run, err := runInForeground(ctx, st, key, *dryRun)
	if err != nil {
		if code := domain.ErrorCode(err); code != domain.EINTERNAL {
			return fmt.Errorf("%s", domain.ErrorMessage(err))
		}
		return err
	}
	if *asJSON {
		if err := writeJSON(io.Stdout, run); err != nil {
			return err
		}
	} else if err := printRun(ctx, io.Stdout, db, run, st.cfg.Location); err != nil {
		return err
	}
	if !run.Status.OK() {
		return &RunFailedError{Status: run.Status}
	}
	return nil
}

// runInForeground runs job key through an engine of this process, with its
// progress on stderr, and returns the finished run. ctx ending (Ctrl-C)
// aborts the run at once, recorded as aborted.
func runInForeground(ctx context.Context, st *setup, key domain.JobKey, dryRun bool) (*domain.Run, error) {
	box, err := st.box()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	eng := engine.New(engine.Deps{
		DB: st.db, Dial: engine.DialDirectory, OpenSecret: box.Open, Now: st.db.Now, Logger: slog.Default(),
		// Unique per process: a command-line run must never mark the
		// server's runs on this host as left behind.
		Instance: fmt.Sprintf("%s/cli-%d", host, os.Getpid()),
	})
	if _, err := eng.Recover(ctx); err != nil {
		return nil, err
	}
	prog := newProgressLine(st.io.Stderr)
	defer prog.done()
	h, err := eng.Start(ctx, key, engine.RunOptions{Trigger: domain.TriggerCLI, By: st.actor(), DryRun: dryRun, Progress: prog.show})
	if err != nil {
		return nil, err
	}
	// No grace period: the person asked to stop.
	stop := context.AfterFunc(ctx, func() { _ = eng.Shutdown(context.Background()) })
	defer stop()
	return h.Wait()
}

// progressLine writes the run's progress to stderr: rewritten in place on
// a terminal, at most one line a second otherwise (logs, CI).
type progressLine struct {
	w        io.Writer
	terminal bool
	last     time.Time
	wrote    bool
}

func newProgressLine(w io.Writer) *progressLine {
	return &progressLine{w: w, terminal: isTerminal(w)}
}

func (p *progressLine) show(r domain.Run) {
	now := time.Now()
	if !p.terminal && now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	line := r.Message
	if r.Read > 0 {
		line = fmt.Sprintf("%s job: read %d/%d, created %d, updated %d, unchanged %d, deactivated %d, errors %d",
			r.JobKey, r.Read, max(r.ExpectedTotal, r.Read), r.Created, r.Updated, r.Unchanged, r.Deactivated, r.Errors)
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.wrote = true
}

func (p *progressLine) done() {
	if p.terminal && p.wrote {
		fmt.Fprintln(p.w)
	}
}

// printRun prints a run record for people, with its first per-user errors;
// its times in loc, as every page shows them (the JSON keeps RFC 3339).
func printRun(ctx context.Context, w io.Writer, db *store.DB, r *domain.Run, loc *time.Location) error {
	fmt.Fprintf(w, "Run %s\n", r.ID)
	fmt.Fprintf(w, "  Job:       %s\n", r.JobKey)
	fmt.Fprintf(w, "  Trigger:   %s by %s\n", r.Trigger, r.TriggeredBy)
	if r.DryRun {
		fmt.Fprintf(w, "  Dry run:   yes, nothing was written to users, credentials, certificates or roles\n")
	}
	fmt.Fprintf(w, "  Status:    %s\n", r.Status.Label())
	fmt.Fprintf(w, "  Started:   %s\n", domain.FormatTime(r.StartedAt, loc))
	if r.FinishedAt != nil {
		fmt.Fprintf(w, "  Finished:  %s (%s)\n", domain.FormatTime(*r.FinishedAt, loc), r.Duration(time.Now()).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  Message:   %s\n", r.Message)
	c := r.RunCounts
	fmt.Fprintf(w, "  Counts:    read %d, created %d, updated %d, unchanged %d, deactivated %d, credentials changed %d,\n"+
		"             certificates on hold %d, certificates revoked %d, roles withdrawn %d, errors %d, orphans %d\n",
		c.Read, c.Created, c.Updated, c.Unchanged, c.Deactivated, c.CredentialsChanged,
		c.CertificatesOnHold, c.CertificatesRevoked, c.RolesWithdrawn, c.Errors, c.Orphans)
	for _, outcome := range []string{domain.OutcomeError, domain.OutcomeOrphan} {
		items, total, err := db.ListRunItems(ctx, r.ID, outcome, 0, 20)
		if err != nil {
			return err
		}
		if total == 0 {
			continue
		}
		fmt.Fprintf(w, "  %ss (%d):\n", strings.ToUpper(outcome[:1])+outcome[1:], total)
		for _, it := range items {
			fmt.Fprintf(w, "    %s (%s): %s\n", it.Username, it.DN, it.Error)
		}
		if total > len(items) {
			fmt.Fprintf(w, "    … %d more\n", total-len(items))
		}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// parseInterspersed parses flags that may come before or after the
// positional arguments ("idm job run active --dry-run"), which the flag
// package alone stops at, and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// isTerminal reports whether w is an interactive terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
