package web

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"idm/internal/cluster"
	"idm/internal/cronexpr"
	"idm/internal/domain"
)

// scheduleSavedFlash is Identity Manager Admin's reminder after a save.
const scheduleSavedFlash = "Saved. To see this update in Identity Manager Operator, click Clear cache in the Operator UI."

// handleScheduleSave stores a job's expression and enabled flag, then
// reschedules the job in the running scheduler at once. An invalid
// expression or a stale form changes nothing.
func (s *Server) handleScheduleSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	job, err := s.deps.Store.GetJob(ctx, domain.JobKey(chi.URLParam(r, "key")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, domain.Errorf(domain.EINVALID, "The form could not be read: %v", err))
		return
	}
	f := scheduleForm{Expression: r.PostFormValue("expression"), Enabled: r.PostFormValue("enabled") == "true"}
	if f.Version, err = strconv.Atoi(r.PostFormValue("version")); err != nil {
		s.fail(w, r, domain.Errorf(domain.EINVALID, "The form has no version: reload the page and save again."))
		return
	}

	sched, err := cronexpr.Parse(f.Expression, s.deps.Location, s.deps.Now())
	if err != nil {
		f.Errors = map[string]string{"expression": domain.ErrorMessage(err)}
		s.renderBatchJob(w, r, http.StatusUnprocessableEntity, job, f)
		return
	}

	saved, err := s.deps.Store.SaveJobSchedule(ctx, job.Key, sched.Expr(), f.Enabled, f.Version, actor(r))
	if domain.ErrorCode(err) == domain.ECONFLICT {
		// Say who changed it and when in the configured zone, from the row
		// as it is now.
		cur, getErr := s.deps.Store.GetJob(ctx, job.Key)
		if getErr != nil {
			s.fail(w, r, getErr)
			return
		}
		who := cur.UpdatedBy
		if who == "" {
			who = "someone"
		}
		f.Conflict = "This job was changed by " + who + " at " + s.formatTime(cur.UpdatedAt) +
			" since you opened it. Nothing was saved: reload the page to see the change, then save again."
		s.renderBatchJob(w, r, http.StatusConflict, cur, f)
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
