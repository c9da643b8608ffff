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
// table. Memory holds three batches, whatever the file's length (one
// being read, two being written). Measured at 100,000 entries: with 500,
// the peak memory grew 1.3× from the 10,000 import once two batches were
// written side by side; with 250 it grows 1.1×, at the same speed.
const importBatch = 250

// importFirstBatch is the size of the first batch, smaller: the batches
// after it assign the roles it creates, and the store writes a batch
// alongside another only once the roles it assigns are stored
// (store.Importer), so until the first batch has committed the import runs
// one batch at a time. Measured with 1,000 holders on PostgreSQL: a first
// batch of 250 kept the second core idle for about a third of the import.
const importFirstBatch = 16

// importStore is what import needs of the store.
type importStore interface {
	NewImporter(ctx context.Context) *store.Importer
}

// importer writes an import file's records a batch at a time, reporting
// each rejected record with its line number, in line order.
type importer struct {
	io   IO
	name string

	records, changed, rejected int
	progress                   *importProgress
}

// recordBatch is up to importBatch records of the file, in line order.
type recordBatch struct {
	lines []pendingRecord
	// parsed are the records that parsed, handed to the store.
	parsed []store.UserDetail
}

// pendingRecord is one line of a batch: its record, or why it could not be
// read.
type pendingRecord struct {
	line   int
	record int // index in parsed, -1 when err is set
	err    error
}

// add parses the record on line and adds it to the batch.
func (b *recordBatch) add(line int, text []byte) {
	d, err := parseUserRecord(text)
	if err != nil {
		b.lines = append(b.lines, pendingRecord{line: line, record: -1, err: err})
		return
	}
	b.lines = append(b.lines, pendingRecord{line: line, record: len(b.parsed)})
	b.parsed = append(b.parsed, d)
}

// importRecords imports every record read from in (named name in
// messages) and prints the summary. The next batch is read and parsed
// while the store writes the current ones (store.Importer writes up to
// store.ImportSideBySide side by side on PostgreSQL): at most that many
// batches and the one being read are in memory.
func importRecords(ctx context.Context, io IO, db importStore, name string, in io.Reader) error {
	im := &importer{io: io, name: name, progress: newImportProgress(io.Stderr)}
	batches := make(chan *recordBatch)
	stop := make(chan struct{})
	var line int
	var readErr error
	go func() {
		defer close(batches)
		line, readErr = readBatches(in, func(b *recordBatch) bool {
			select {
			case batches <- b:
				return true
			case <-stop:
				return false
			}
		})
	}()
	if err := im.write(ctx, db.NewImporter(ctx), batches); err != nil {
		close(stop)
		for range batches { // until the reader has stopped
		}
		return err
	}
	im.progress.clear()
	if readErr != nil {
		return fmt.Errorf("import: read %s after line %d: %w", name, line, readErr)
	}
	fmt.Fprintf(io.Stdout, "%d records read: %d imported (%d changed, %d already up to date), %d rejected\n",
		im.records, im.records-im.rejected, im.changed, im.records-im.rejected-im.changed, im.rejected)
	if im.rejected > 0 {
		return fmt.Errorf("import: %d of %d records rejected", im.rejected, im.records)
	}
	return nil
}

// readBatches reads in line by line and hands emit each batch of records,
// parsed (the first of importFirstBatch records, the others of
// importBatch), until emit returns false or in ends. It returns the last
// line read and the reading error, if any.
func readBatches(in io.Reader, emit func(*recordBatch) bool) (int, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	b, size := &recordBatch{}, importFirstBatch
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		b.add(line, text)
		if len(b.lines) == size {
			if !emit(b) {
				return line, nil
			}
			b, size = &recordBatch{}, importBatch
		}
	}
	if len(b.lines) > 0 && !emit(b) {
		return line, nil
	}
	return line, sc.Err()
}

// write hands each batch to the store as it comes, and reports each batch's
// records once the store has written it, in line order, keeping at most
// store.ImportSideBySide batches with the store. It returns at the first
// fault, once the store has stopped writing.
func (im *importer) write(ctx context.Context, st *store.Importer, batches <-chan *recordBatch) error {
	defer st.Close()
	type submitted struct {
		batch   *recordBatch
		written *store.ImportBatch
	}
	var queue []submitted
	for b := range batches {
		queue = append(queue, submitted{b, st.Submit(b.parsed)})
		for len(queue) >= store.ImportSideBySide {
			if err := im.report(ctx, queue[0].batch, queue[0].written); err != nil {
				return err
			}
			queue = queue[1:]
		}
	}
	for _, q := range queue {
		if err := im.report(ctx, q.batch, q.written); err != nil {
			return err
		}
	}
	return nil
}

// report reports the rejected records of batch b, as the store wrote it.
func (im *importer) report(ctx context.Context, b *recordBatch, written *store.ImportBatch) error {
	results, err := written.Wait()
	for _, p := range b.lines {
		rerr := p.err
		if p.record >= 0 {
			if p.record >= len(results) {
				// The fault below stopped the import here.
				im.progress.clear()
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("import: %s stopped at line %d, nothing of it or of the lines after it was written: %w", im.name, p.line, err)
			}
			rerr = results[p.record].Err
			if rerr == nil && results[p.record].Changed {
				im.changed++
			}
		}
		im.records++
		if rerr != nil {
			im.reject(p.line, rerr)
		}
	}
	if err != nil {
		// Every record of the batch was written, the fault came after.
		return fmt.Errorf("import: %s: %w", im.name, err)
	}
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
