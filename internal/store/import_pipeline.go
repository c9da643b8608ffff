package store

import (
	"context"
	"errors"
	"fmt"
)

// Importer writes an import's batches of records, each as ImportUsers
// writes it, and on PostgreSQL two at once: while one batch's rows go in,
// the next batch is read against the store, decided and copied on a second
// connection, so that the server works on both cores. Measured on this
// project's 2-core machine: one importer at a time reached about 2,600
// holders a second, two sessions side by side about 3,700–4,000.
//
// What a person sees stays as with one batch at a time: the batches are
// committed in the order they were submitted (a batch's commit waits for the
// one before it, and is rolled back if that one failed), so a fault still
// leaves every record before the failed batch written and nothing after it.
// Two batches run side by side only when they are independent: no username,
// stable id, credential or certificate in common, and every role the second
// one assigns already stored (a role both would create would make the
// second wait on the first's insert and then fail). Otherwise the second
// starts when the first has ended. SQLite has one writer: there every batch
// starts when the one before it has ended.
type Importer struct {
	db  *DB
	ctx context.Context
	// last is the batch submitted last.
	last *ImportBatch
	// unread are the batches whose roles are not yet in roles.
	unread []*ImportBatch
	// roles are role names known to be stored: those assigned by a
	// record of a batch that has ended and was written.
	roles map[string]bool
}

// ImportBatch is one batch handed to an Importer.
type ImportBatch struct {
	records []UserDetail
	// keys are the records' keys (recordKeys), on PostgreSQL only.
	keys    map[string]bool
	done    chan struct{}
	results []ImportResult
	err     error
}

// NewImporter returns an Importer writing in ctx.
func (db *DB) NewImporter(ctx context.Context) *Importer {
	return &Importer{db: db, ctx: ctx, roles: map[string]bool{}}
}

// errEarlierBatch is the fault of a batch rolled back because the batch
// before it failed.
var errEarlierBatch = errors.New("store: import: an earlier batch failed")

// Submit starts writing records; Wait on the result gives what became of
// them. At most the batch submitted last is still running alongside; the
// caller waits for each batch, in order, before it submits the one after
// the next. Submit is called from one goroutine.
func (im *Importer) Submit(records []UserDetail) *ImportBatch {
	b := &ImportBatch{records: records, done: make(chan struct{})}
	if im.db.Dialect == DialectPostgres { // elsewhere no batch runs alongside another
		b.keys = map[string]bool{}
		for i := range records {
			for _, k := range recordKeys(&records[i]) {
				b.keys[k] = true
			}
		}
	}
	prev := im.last
	im.learnEnded()
	if prev != nil && !ended(prev) && !im.independent(prev, b) {
		<-prev.done
		im.learnEnded()
	}
	im.last, im.unread = b, append(im.unread, b)
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

// Close waits for the batch submitted last, so that no write goes on after
// the import has returned (the caller may have stopped waiting after a
// fault).
func (im *Importer) Close() {
	if im.last != nil {
		<-im.last.done
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

// independent reports whether b may run alongside prev, which is running.
func (im *Importer) independent(prev, b *ImportBatch) bool {
	if im.db.Dialect != DialectPostgres {
		return false
	}
	for k := range b.keys {
		if prev.keys[k] {
			return false
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

// learnEnded notes the roles that the batches which have ended stored.
func (im *Importer) learnEnded() {
	keep := im.unread[:0]
	for _, b := range im.unread {
		if !ended(b) {
			keep = append(keep, b)
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
	im.unread = keep
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
