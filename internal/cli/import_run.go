package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"idm/internal/store"
)

// importBatch is how many records import hands the store at once: one
// transaction (unless records in it share a key), a few statements per
// table. Memory holds one batch, whatever the file's length.
const importBatch = 500

// importStore is what import needs of the store.
type importStore interface {
	ImportUsers(ctx context.Context, records []store.UserDetail) ([]store.ImportResult, error)
}

// importer reads an import file line by line and writes its records a
// batch at a time, reporting each rejected record with its line number, in
// line order.
type importer struct {
	io   IO
	db   importStore
	name string

	batch []pendingRecord
	// parsed are the records of batch that parsed, handed to the store.
	parsed []store.UserDetail

	records, changed, rejected int
	progress                   *importProgress
}

// pendingRecord is one line of the current batch: its record, or why it
// could not be read.
type pendingRecord struct {
	line   int
	record int // index in parsed, -1 when err is set
	err    error
}

// importRecords imports every record read from in (named name in
// messages) and prints the summary.
func importRecords(ctx context.Context, io IO, db importStore, name string, in io.Reader) error {
	im := &importer{io: io, db: db, name: name, progress: newImportProgress(io.Stderr)}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		im.add(line, text)
		if len(im.batch) == importBatch {
			if err := im.flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := im.flush(ctx); err != nil {
		return err
	}
	im.progress.clear()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("import: read %s after line %d: %w", name, line, err)
	}
	fmt.Fprintf(io.Stdout, "%d records read: %d imported (%d changed, %d already up to date), %d rejected\n",
		im.records, im.records-im.rejected, im.changed, im.records-im.rejected-im.changed, im.rejected)
	if im.rejected > 0 {
		return fmt.Errorf("import: %d of %d records rejected", im.rejected, im.records)
	}
	return nil
}

// add parses the record on line and adds it to the batch.
func (im *importer) add(line int, text []byte) {
	im.records++
	d, err := parseUserRecord(text)
	if err != nil {
		im.batch = append(im.batch, pendingRecord{line: line, record: -1, err: err})
		return
	}
	im.batch = append(im.batch, pendingRecord{line: line, record: len(im.parsed)})
	im.parsed = append(im.parsed, d)
}

// flush writes the batch and reports its rejected records.
func (im *importer) flush(ctx context.Context) error {
	if len(im.batch) == 0 {
		return nil
	}
	results, err := im.db.ImportUsers(ctx, im.parsed)
	for _, p := range im.batch {
		rerr := p.err
		if p.record >= 0 {
			if p.record >= len(results) {
				break // the fault below stopped the import here
			}
			rerr = results[p.record].Err
			if rerr == nil && results[p.record].Changed {
				im.changed++
			}
		}
		if rerr != nil {
			im.reject(p.line, rerr)
		}
	}
	if err != nil {
		im.progress.clear()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("import: %s stopped at line %d, nothing of it or of the lines after it was written: %w",
			im.name, im.batch[len(results)].line, err)
	}
	im.batch, im.parsed = im.batch[:0], im.parsed[:0]
	im.progress.show(im.records)
	return nil
}

// reject reports the record on line as rejected.
func (im *importer) reject(line int, err error) {
	im.rejected++
	im.progress.clear()
	fmt.Fprintf(im.io.Stderr, "%s:%d: %s; nothing of this record was written\n", im.name, line, errorText(err))
}

// importProgress shows, on a terminal, how far a long import has come: one
// line rewritten in place at most once a second, from two seconds on. It
// is nil (and does nothing) when standard error is not a terminal, so that
// logs and pipes get no progress.
type importProgress struct {
	w       io.Writer
	start   time.Time
	last    time.Time
	showing bool
}

func newImportProgress(w io.Writer) *importProgress {
	if !isTerminal(w) {
		return nil
	}
	now := time.Now()
	return &importProgress{w: w, start: now, last: now}
}

// show writes the count of records read, when it is time to.
func (p *importProgress) show(records int) {
	if p == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < 2*time.Second || now.Sub(p.last) < time.Second {
		return
	}
	p.last, p.showing = now, true
	elapsed := now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "\r\033[Kimporting: %d records read in %.0fs (%.0f a second)", records, elapsed, float64(records)/elapsed)
}

// clear removes the progress line, before another message or at the end.
func (p *importProgress) clear() {
	if p == nil || !p.showing {
		return
	}
	p.showing = false
	fmt.Fprint(p.w, "\r\033[K")
}
