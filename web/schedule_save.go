package web

import (
	"net/http"

	"idm/internal/cluster"
	"idm/internal/domain"
)

// scheduleSavedFlash is Identity Manager Admin's reminder after a save.
const scheduleSavedFlash = "Saved. To see this update in Identity Manager Operator, click Clear cache in the Operator UI."

// handleScheduleSave stores a job's expression and enabled flag, then
// reschedules the job in the running scheduler at once. An invalid
// expression or a stale form changes nothing.
func (s *Server) handleScheduleSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	job, err := s.pathJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := readForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sf := scheduleForm{Expression: f.raw("expression"), Enabled: f.flag("enabled")}
	if sf.Version, err = f.version(); err != nil {
		s.fail(w, r, err)
		return
	}
	errs := f.errs
	sched, err := domain.ParseCronExpression(sf.Expression, s.deps.Location, s.deps.Now())
	errs.Merge(err)
	if len(errs) > 0 {
		sf.Errors = errs.Map()
		s.renderBatchJob(w, r, http.StatusUnprocessableEntity, job, sf)
		return
	}

	saved, err := s.deps.Store.SaveJobSchedule(ctx, job.Key, sched.Expr(), sf.Enabled, sf.Version, actor(r))
	if domain.ErrorCode(err) == domain.ECONFLICT {
		// Say who changed it and when in the configured zone, from the row
		// as it is now.
		cur, getErr := s.deps.Store.GetJob(ctx, job.Key)
		if getErr != nil {
			s.fail(w, r, getErr)
			return
		}
		sf.Conflict = domain.ErrorMessage(domain.JobChanged(cur.UpdatedBy, cur.UpdatedAt.In(s.deps.Location))) + ". Nothing was saved."
		s.renderBatchJob(w, r, http.StatusConflict, cur, sf)
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("schedule saved", "job", saved.Key, "expression", saved.CronExpression, "enabled", saved.Enabled,
		"version", saved.Version, "by", actor(r))

	flash := scheduleSavedFlash
	if err := s.deps.Scheduler.Reschedule(ctx, saved.Key); err != nil {
		// The definition is saved; the scheduler records why it could not
		// take it, and the job's page shows that.
		s.log.Error("reschedule after save", "job", saved.Key, "err", err)
		flash = "Saved, but the scheduler could not apply it yet: " + domain.ErrorMessage(err) + " " + flash
	}
	s.deps.Notify.Notify(ctx, cluster.TopicJobs)
	s.redirectWithFlash(w, r, batchJobPath(saved.Key), flash)
}

func batchJobPath(key domain.JobKey) string { return "/admin/batch-sync/" + string(key) }
