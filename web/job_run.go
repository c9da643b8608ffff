package web

import (
	"fmt"
	"net/http"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/templates"
)

// handleJobRun is Run now. The engine starts the run and the answer comes
// as soon as its record exists (the card then polls its progress), or at once
// when the engine refuses: a job already running is never started a second
// time.
func (s *Server) handleJobRun(w http.ResponseWriter, r *http.Request) {
	key, name, err := s.operatorJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := readForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dryRun := f.checkbox("dry_run", "1") // the Dry run box's value
	if err := f.errs.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	by := actor(r)

	_, err = s.deps.Engine.Start(r.Context(), key, engine.RunOptions{Trigger: domain.TriggerManual, By: by, DryRun: dryRun})
	if domain.ErrorCode(err) == domain.ECONFLICT {
		s.refuseRun(w, r, key, fmt.Sprintf("%s was not started: %s.", name, s.errorText(r, err)))
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	notice := name + " started."
	if dryRun {
		notice = name + " started as a dry run: nothing will be changed."
	}
	if isHTMX(r) {
		s.renderJobCard(w, r, notice, false)
		return
	}
	s.redirectWithFlash(w, r, "/operator/jobs", notice)
}

// refuseRun answers a Run now the engine refused with msg: in the job's card
// for htmx (which swaps only successful answers), else on the jobs page.
func (s *Server) refuseRun(w http.ResponseWriter, r *http.Request, key domain.JobKey, msg string) {
	s.log.Info("run now refused", "job", key, "by", actor(r), "reason", msg)
	if isHTMX(r) {
		s.renderJobCard(w, r, msg, true)
		return
	}
	s.renderJobList(w, r, http.StatusConflict, msg, &templates.OpJobCard{Key: string(key), Notice: msg, NoticeError: true})
}

// renderJobCard answers htmx with the card of the job in the URL, carrying
// notice.
func (s *Server) renderJobCard(w http.ResponseWriter, r *http.Request, notice string, isError bool) {
	c, err := s.oneJobCard(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c.Notice, c.NoticeError = notice, isError
	s.render(w, r, http.StatusOK, templates.OpJob(c))
}
