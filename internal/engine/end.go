package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
)

// A run's end, when the database does not answer.
//
// As soon as a run's work is done, this process's run slot is free: the
// process knows the run no longer runs, so Run now here is not refused for
// it. Its final record is then written with retries: for up to
// endRetryFor (the run's Handle reports the failure then), and after that
// in the background until the database answers. Two runs still never
// overlap in the database: Start first writes every pending end (and fails,
// as it would anyway, while the database is down), and only then records
// the new run. Other instances never judge this process's ended run by its
// heartbeat: its lease session and heartbeat say whether this process is
// alive, and only then whether its run is.
const (
	// endRetryFor is how long a run's Handle waits for its final record.
	endRetryFor = 30 * time.Second
	// endAttemptTimeout bounds one attempt to write a final record.
	endAttemptTimeout = 5 * time.Second
	// endRetryFirst and endRetryMax are the first and the longest pause
	// between attempts: the record lands within endRetryMax of the
	// database's return.
	endRetryFirst = 250 * time.Millisecond
	endRetryMax   = time.Second
)

// pendingEnd is a run whose work is done and whose final record is not
// written yet.
type pendingEnd struct {
	h   *Handle
	run *domain.Run
	log *slog.Logger
}

// endRun frees the run slot (the run's work is done), then writes the run's
// final record, retrying until it is written or Shutdown gives up.
func (e *Engine) endRun(h *Handle, run *domain.Run) {
	defer e.runs.Done()
	p := &pendingEnd{h: h, run: run, log: e.log.With("job", run.JobKey, "run", run.ID)}
	e.mu.Lock()
	delete(e.running, run.JobKey)
	e.ends[run.ID] = p
	e.mu.Unlock()

	bounded := time.Now().Add(endRetryFor)
	pause := endRetryFirst
	for {
		err := e.writeEnd(context.Background(), p)
		if err == nil {
			return
		}
		if time.Now().After(bounded) {
			h.settle(run, fmt.Errorf("engine: the end of run %s is not recorded yet (%w); it is written when the database answers", run.ID, err))
		}
		p.log.Warn("could not record the end of the run; retrying", "in", pause, "err", err)
		select {
		case <-time.After(pause):
		case <-e.giveUp:
			p.log.Error("gave up recording the end of the run at shutdown; the next start marks it aborted", "err", err)
			e.observer.RunFinished(*run)
			h.settle(run, fmt.Errorf("engine: record end of run %s: %w", run.ID, err))
			return
		}
		pause = min(2*pause, endRetryMax)
	}
}

// writePendingEnds writes the final records still pending, before a new
// run is recorded; an error means one could not be written.
func (e *Engine) writePendingEnds(ctx context.Context) error {
	e.mu.Lock()
	pending := make([]*pendingEnd, 0, len(e.ends))
	for _, p := range e.ends {
		pending = append(pending, p)
	}
	e.mu.Unlock()
	for _, p := range pending {
		if err := e.writeEnd(ctx, p); err != nil {
			return fmt.Errorf("engine: the end of the previous run %s is not recorded yet, and must be before another run starts: %w", p.run.ID, err)
		}
	}
	return nil
}

// writeEnd writes p's final record once, unless it is written already, and
// settles its Handle. When another instance recorded the run's end first
// (it found this process dead or frozen), that record stands.
func (e *Engine) writeEnd(ctx context.Context, p *pendingEnd) error {
	e.endMu.Lock()
	defer e.endMu.Unlock()
	e.mu.Lock()
	_, pending := e.ends[p.run.ID]
	e.mu.Unlock()
	if !pending {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, endAttemptTimeout)
	defer cancel()
	final := p.run
	err := e.db.FinishRun(ctx, p.run)
	switch {
	case errors.Is(err, store.ErrRunTakenOver):
		final = e.recordedEnd(ctx, p)
	case err != nil:
		return err
	default:
		p.log.Info("run ended", "status", final.Status, "message", final.Message, "counts", final.RunCounts)
	}
	e.mu.Lock()
	delete(e.ends, p.run.ID)
	e.mu.Unlock()
	e.observer.RunFinished(*final)
	p.h.settle(final, nil)
	return nil
}

// recordedEnd is the end another instance recorded for p's run.
func (e *Engine) recordedEnd(ctx context.Context, p *pendingEnd) *domain.Run {
	stored, err := e.db.GetRun(ctx, p.run.ID)
	if err != nil {
		p.log.Warn("another instance recorded the end of this run; it cannot be read", "err", err)
		r := *p.run
		r.Status, r.Message = domain.RunAborted, "Aborted: "+store.ErrRunTakenOver.Error()+"."
		return &r
	}
	p.log.Warn("another instance recorded the end of this run (it found this process dead or frozen); its record stands",
		"status", stored.Status, "message", stored.Message)
	return stored
}
