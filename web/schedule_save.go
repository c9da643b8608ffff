package web

import (
	"errors"
	"net/http"

	"idm/internal/admin"
	"idm/internal/domain"
)

// clearCacheReminder is what Identity Manager Admin says after every save
// that the Operator shows.
const clearCacheReminder = "To see this update in Identity Manager Operator, click Clear cache in the Operator UI."

// scheduleSavedFlash is Identity Manager Admin's reminder after a save.
const scheduleSavedFlash = "Saved. " + clearCacheReminder

// handleScheduleSave stores a job's expression and enabled flag, then
// reschedules the job in the running scheduler at once (admin.SaveSchedule,
// as the API does). An invalid expression or a stale form changes nothing.
func (s *Server) handleScheduleSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	job, err := s.pathJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sf, errs, err := readScheduleForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(errs) > 0 {
		// A switch that was neither on nor off: say so, with what the
		// expression's rule says, and save nothing.
		errs.Merge(domain.ValidateCronExpression(sf.Expression, s.deps.Location, s.deps.Now()))
		sf.Errors = errs.Map()
		s.renderBatchJob(w, r, http.StatusUnprocessableEntity, job, sf)
		return
	}
	saved, err := s.admin.SaveSchedule(ctx, job.Key, admin.Schedule{Expression: sf.Expression, Enabled: sf.Enabled, Version: sf.Version}, actor(r))
	var fe domain.FieldErrors
	var stale *admin.StaleJobError
	switch {
	case errors.As(err, &fe):
		sf.Errors = fe.Map()
		s.renderBatchJob(w, r, http.StatusUnprocessableEntity, job, sf)
		return
	case errors.As(err, &stale):
		sf.Conflict = domain.ErrorMessage(err) + ". Nothing was saved."
		s.renderBatchJob(w, r, http.StatusConflict, stale.Current, sf)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	flash := scheduleSavedFlash
	if saved.NotApplied != nil {
		flash = "Saved, but the scheduler could not apply it yet: " + domain.ErrorMessage(saved.NotApplied) + " " + flash
	}
	s.redirectWithFlash(w, r, batchJobPath(saved.Job.Key), flash)
}

// readScheduleForm reads the schedule form as posted, and the fields it
// could not even read (an enabled switch neither on nor off).
func readScheduleForm(r *http.Request) (scheduleForm, domain.FieldErrors, error) {
	f, err := readForm(r)
	if err != nil {
		return scheduleForm{}, nil, err
	}
	sf := scheduleForm{Expression: f.raw("expression"), Enabled: f.flag("enabled")}
	if sf.Version, err = f.version(); err != nil {
		return scheduleForm{}, nil, err
	}
	return sf, f.errs, nil
}

func batchJobPath(key domain.JobKey) string { return "/admin/batch-sync/" + string(key) }
