package web

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"gorm.io/gorm"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
	"idm/templates"
)

// handleJobRun is Run now. The run goes on in the background and the answer
// comes as soon as its record exists (the card then polls its progress), or
// at once when the engine refuses: a job already running is never started a
// second time.
func (s *Server) handleJobRun(w http.ResponseWriter, r *http.Request) {
	key, err := domain.LookupJobKey(chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.deps.Engine == nil {
		s.fail(w, r, fmt.Errorf("web: run now: no engine configured"))
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, domain.UnreadableForm(err))
		return
	}
	snap, err := s.opSnapshot(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := processName(snap, key)
	by, dryRun := actor(r), r.PostFormValue("dry_run") != ""

	run, err := s.startRun(r.Context(), key, by, dryRun)
	if domain.ErrorCode(err) == domain.ECONFLICT {
		msg := fmt.Sprintf("%s was not started: %s.", name, domain.ErrorMessage(err))
		s.log.Info("run now refused", "job", key, "by", by, "reason", domain.ErrorMessage(err))
		if isHTMX(r) {
			// htmx swaps only successful answers: the card carries the refusal.
			c, cerr := s.oneJobCard(r)
			if cerr != nil {
				s.fail(w, r, cerr)
				return
			}
			c.Notice, c.NoticeError = msg, true
			s.render(w, r, http.StatusOK, templates.OpJob(c))
			return
		}
		s.renderJobList(w, r, http.StatusConflict, msg, &templates.OpJobCard{Key: string(key), Notice: msg, NoticeError: true})
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}

	detail := "run " + run.ID + " started"
	if dryRun {
		detail += " (dry run)"
	}
	if err := s.deps.Store.Write.WithContext(r.Context()).Transaction(func(tx *gorm.DB) error {
		return store.AddAudit(tx, domain.AuditEvent{Actor: by, Action: domain.AuditJobRun, Target: string(key), Detail: detail})
	}); err != nil {
		// The run is under way; a missing audit row must not hide that.
		s.log.Error("audit run now", "job", key, "run", run.ID, "err", err)
	}
	notice := name + " started."
	if dryRun {
		notice = name + " started as a dry run: nothing will be changed."
	}
	if isHTMX(r) {
		c, err := s.oneJobCard(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		c.Notice = notice
		s.render(w, r, http.StatusOK, templates.OpJob(c))
		return
	}
	s.redirectWithFlash(w, r, "/operator/jobs", notice)
}

// startRun starts job key in the background and returns once the run is
// recorded, or the engine's refusal. The run's context is detached from the
// request, which ends with this answer.
func (s *Server) startRun(ctx context.Context, key domain.JobKey, by string, dryRun bool) (domain.Run, error) {
	started := make(chan domain.Run, 1)
	ended := make(chan error, 1)
	runCtx := context.WithoutCancel(ctx)
	if s.deps.RunContext != nil {
		runCtx = s.deps.RunContext
	}
	log := s.log.With("job", key, "by", by)
	go func() {
		run, err := s.deps.Engine.Run(runCtx, key, engine.RunOptions{
			Trigger: domain.TriggerManual, By: by, DryRun: dryRun,
			Started: func(r domain.Run) { started <- r },
		})
		switch {
		case err != nil && run != nil:
			log.Error("manual run ended without its final record", "run", run.ID, "err", err)
		case run != nil:
			log.Info("manual run ended", "run", run.ID, "status", run.Status)
		}
		ended <- err
	}()
	select {
	case run := <-started:
		return run, nil
	case err := <-ended:
		if err == nil {
			// Run returned without calling Started: it cannot, but never
			// report a run that may not exist as started.
			err = fmt.Errorf("web: run now: %s ended before it started", key)
		}
		return domain.Run{}, err
	case <-ctx.Done():
		return domain.Run{}, fmt.Errorf("web: run now: %w", ctx.Err())
	}
}
