package store

import (
	"context"
	"errors"
	"fmt"
)

// Importer writes an import's batches of records, each as ImportUsers
// writes it, and on PostgreSQL up to ImportSideBySide at once: while one
// batch's rows go in, the next ones are read against the store, decided and
// copied on connections of their own, so that the server works on both
// cores while the client decides. Measured on this project's 2-core
// machine: one batch at a time reached about 2,600 holders a second, two
// side by side about 3,700–4,000. A third, tried once the client's share
// had shrunk, gained nothing measurable over the machine's noise and held a
// quarter more memory at 100,000 than at 10,000 (docs/benchmarks.md).
//
// What a person sees stays as with one batch at a time: the batches are
// committed in the order they were submitted (a batch's commit waits for the
// one before it, and is rolled back if that one failed), so a fault still
// leaves every record before the failed batch written and nothing after it.
// Batches run side by side only when they are independent: no username,
// stable id, credential or certificate in common, and every role a batch
// assigns already stored (a role two would create would make the later
// wait on the earlier's insert and then fail). Otherwise a batch starts
// when the ones running have ended. SQLite has one writer: there every
// batch starts when the one before it has ended.
type Importer struct {
	db  *DB
	ctx context.Context
	// last is the batch submitted last.
	last *ImportBatch
	// running are the batches submitted and not known to have ended; the
	// roles of those that have are in roles.
	running []*ImportBatch
	// roles are role names known to be stored: those assigned by a
	// record of a batch that has ended and was written.
	roles map[string]bool
}

// ImportBatch is one batch handed to an Importer.
type ImportBatch struct {
	records []UserDetail
	// keys are the records' keys (eachRecordKey), on PostgreSQL only.
	keys    map[recordKey]bool
	done    chan struct{}
	results []ImportResult
	err     error
}

// NewImporter returns an Importer writing in ctx.
func (db *DB) NewImporter(ctx context.Context) *Importer {
	return &Importer{db: db, ctx: ctx, roles: map[string]bool{}}
}

// ImportSideBySide is how many batches `idm import` keeps with an Importer
// at once, submitted and not yet waited for: on PostgreSQL as many are
// written side by side. The Importer itself holds to its commit order
// however many there are.
const ImportSideBySide = 2

// errEarlierBatch is the fault of a batch rolled back because the batch
// before it failed.
var errEarlierBatch = errors.New("store: import: an earlier batch failed")

// Submit starts writing records; Wait on the result gives what became of
// them. The caller waits for the batches in the order it submitted them
// (`idm import` keeps ImportSideBySide submitted). Submit is called from
// one goroutine.
func (im *Importer) Submit(records []UserDetail) *ImportBatch {
	b := &ImportBatch{records: records, done: make(chan struct{})}
	if im.db.Dialect == DialectPostgres { // elsewhere no batch runs alongside another
		b.keys = map[recordKey]bool{}
		for i := range records {
			eachRecordKey(&records[i], func(k recordKey) { b.keys[k] = true })
		}
	}
	im.learnEnded()
	if !im.independent(b) {
		for _, r := range im.running {
			<-r.done
		}
		im.learnEnded()
	}
	prev := im.last
	im.last, im.running = b, append(im.running, b)
	go func() {
		defer close(b.done)
		b.results, b.err = im.db.importUsers(im.ctx, records, prev)
	}()
	return b
}

// Wait waits for the batch to end and returns ImportUsers' results.
func (b *ImportBatch) Wait() ([]ImportResult, error) {
	<-b.done
	return b.results, b.err
}

// Close waits for every batch still running, so that no write goes on
// after the import has returned (the caller may have stopped waiting after
// a fault).
func (im *Importer) Close() {
	for _, b := range im.running {
		<-b.done
	}
}

func ended(b *ImportBatch) bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// independent reports whether b may run alongside the batches running.
func (im *Importer) independent(b *ImportBatch) bool {
	if len(im.running) == 0 {
		return true
	}
	if im.db.Dialect != DialectPostgres {
		return false
	}
	for _, r := range im.running {
		for k := range b.keys {
			if r.keys[k] {
				return false
			}
		}
	}
	for _, d := range b.records {
		for _, r := range d.Roles {
			if !im.roles[r.RoleName] {
				return false
			}
		}
	}
	return true
}

// learnEnded drops the batches that have ended from the running ones, and
// notes the roles they stored.
func (im *Importer) learnEnded() {
	running := im.running[:0]
	for _, b := range im.running {
		if !ended(b) {
			running = append(running, b)
			continue
		}
		for i, res := range b.results {
			if res.Err == nil {
				for _, r := range b.records[i].Roles {
					im.roles[r.RoleName] = true
				}
			}
		}
	}
	im.running = running
}

// afterEarlier waits for the batch before (nil: none) to end and reports
// whether it was written: a batch commits only after the one before it.
func afterEarlier(ctx context.Context, before *ImportBatch) error {
	if before == nil {
		return nil
	}
	select {
	case <-before.done:
	case <-ctx.Done():
		return fmt.Errorf("store: import: %w", ctx.Err())
	}
	if before.err != nil {
		return errEarlierBatch
	}
	return nil
}
