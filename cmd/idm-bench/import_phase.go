package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"idm/internal/cli"
	"idm/internal/store"
	"idm/internal/testenv"
)

// phaseImport is (f): `idm import` of the locked people with their
// holdings into an empty store, run as the command runs.
const phaseImport = "import"

// writeHolders writes every locked person of pop, as holder(i) describes
// them, to path in the import format. It returns how many it wrote.
func writeHolders(path string, pop population) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("holders: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	now := time.Now().UTC().Truncate(time.Second)
	n := 0
	for i := range pop.n {
		if !pop.inactive(i) {
			continue
		}
		d := holder(i, now)
		if err := cli.WriteUserRecord(w, &d); err != nil {
			f.Close()
			return n, fmt.Errorf("holders: %w", err)
		}
		n++
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return n, fmt.Errorf("holders: %w", err)
	}
	return n, f.Close()
}

// measureImport runs `idm import file` against the store at dbURL, as a
// person runs it (cli.Run, standard error not a terminal), and counts the
// rows it wrote: the store was empty, so they are the rows it holds now.
func measureImport(ctx context.Context, db *store.DB, dbURL, file string, res *phaseResult) error {
	env := map[string]string{"IDM_DATABASE_URL": dbURL, "IDM_SECRET_KEY": os.Getenv(envKey), "IDM_LOG_LEVEL": "error"}
	var out, errOut strings.Builder
	start := time.Now()
	err := cli.Run(ctx, []string{"import", file}, cli.IO{
		Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
	})
	res.WallSeconds = time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("import: %w\n%s%.2000s", err, out.String(), errOut.String())
	}
	res.Message = strings.TrimSpace(out.String())
	if _, err := fmt.Sscanf(res.Message, "%d records read", &res.Entries); err != nil {
		return fmt.Errorf("import: unexpected summary %q", res.Message)
	}
	res.RowsByTable = map[string]int64{}
	for table := range dataTables {
		var n int64
		if err := db.Pools()[0].WithContext(ctx).Table(table).Count(&n).Error; err != nil {
			return fmt.Errorf("import: count %s: %w", table, err)
		}
		if n > 0 {
			res.RowsByTable[table] = n
		}
	}
	return nil
}

// importPhase measures (f): the import file of this size into a fresh,
// empty store.
func (b *bench) importPhase(ctx context.Context, dir, dbName string, sl *testenv.SlapdServer, n int) (*measurement, error) {
	url, drop, err := b.freshStore(ctx, dir, dbName, sl, n)
	if err != nil {
		return nil, err
	}
	defer drop()
	return b.phase(ctx, url, phaseImport, "(f) import", n, dbName, nil)
}
