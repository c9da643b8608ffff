package engine

import (
	"context"
	"fmt"
	"time"

	"idm/internal/directory"
	"idm/internal/domain"
)

// defaultPlanMemory bounds the memory the inactive job's plan may hold
// between the survey and the writes (Deps.PlanMemory): 64 MiB, about
// 300,000 users to change at about 200 bytes each (creates and error items
// hold more). A larger plan is dropped, and the writes read the directory
// a second time instead.
const defaultPlanMemory = 64 << 20

// writeBatch is how many held users the writes decide and write at once:
// a page's worth.
const writeBatch = 500

// surveyed is what the inactive job's survey found: who it would
// deactivate, and what it would change, held until the limit is checked.
type surveyed struct {
	sess  *session
	would int
	held  []heldEntry
	// size is about how many bytes held takes; overflow is set when it
	// passed heldLimit and held was dropped.
	size     int
	overflow bool
}

func newSurveyed(sess *session) *surveyed { return &surveyed{sess: sess} }

// page surveys one page and records the run's progress.
func (sv *surveyed) page(ctx context.Context, r *runner, page []directory.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sv.sess.now = r.e.now()
	hs, would, err := sv.sess.survey(ctx, page, !sv.overflow)
	if err != nil {
		return &storeError{err}
	}
	sv.would += would
	for i := range hs {
		sv.size += hs[i].size()
	}
	sv.held = append(sv.held, hs...)
	if sv.size > r.e.planMemory && !sv.overflow {
		r.log.Info("the inactive job's plan outgrew memory: the writes read the directory again", "held", len(sv.held), "bytes", sv.size)
		sv.held, sv.overflow = nil, true
	}
	// The card's progress shows the entries read: the survey is the read.
	r.run.Read = sv.sess.counts.Read
	r.progressMessage(ctx, fmt.Sprintf("Checking how many users the run would deactivate: %d entries read", sv.sess.counts.Read))
	return nil
}

// writeInactive runs the inactive job: the survey and the deactivation
// limit, then the writes, from the survey's held plan when it fit in memory
// (the directory is read once), else from a second read.
func (r *runner) writeInactive(ctx context.Context, src Source, filter string, s *domain.LDAPSettings) {
	sv, ok := r.checkDeactivations(ctx, src, filter, s)
	if !ok {
		return
	}
	if sv.overflow {
		r.write(ctx, src, filter, s)
		return
	}
	w := &pageWriter{r: r, s: s, sess: sv.sess}
	w.end(ctx, r.writeHeld(ctx, w, sv.held))
}

// writeHeld decides and writes the held plan a batch at a time, deciding
// the next batch (reading its users and holdings) while the store writes
// the current one.
func (r *runner) writeHeld(ctx context.Context, w *pageWriter, hs []heldEntry) error {
	planner := w.sess.fork()
	last := w.sess.seq
	total, done := len(hs), 0
	err := overlap(ctx, r, func(emit func(heldBatch) error) error {
		for len(hs) > 0 {
			n := min(writeBatch, len(hs))
			planner.now = r.e.now()
			plan, err := planner.replan(ctx, hs[:n])
			if err != nil {
				return &storeError{err}
			}
			hs = hs[n:]
			if err := emit(heldBatch{plan: plan, entries: n, now: planner.now}); err != nil {
				return err
			}
		}
		return nil
	}, func(b heldBatch) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.sess.now = b.now
		if err := w.apply(ctx, b.plan); err != nil {
			return err
		}
		done += b.entries
		return w.record(ctx, fmt.Sprintf("Read %d entries; writing the changes: %d of %d", w.sess.counts.Read, done, total))
	})
	w.sess.counts.Unchanged += planner.counts.Unchanged
	w.sess.seq = last
	return err
}

// heldBatch is a batch of held entries decided: the changes, how many
// entries they came from, and the time they were decided at.
type heldBatch struct {
	plan    []planned
	entries int
	now     time.Time
}
