package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

// previewRuns is how many upcoming runs the live check lists.
const previewRuns = 5

func (s *Server) handleBatchSyncShow(w http.ResponseWriter, r *http.Request) {
	job, err := s.pathJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderBatchJob(w, r, http.StatusOK, job, scheduleForm{Expression: job.CronExpression, Enabled: job.Enabled, Version: job.Version})
}

// pathJob is the job the request's {key} names; a key that names none is
// not found before the store is asked.
func (s *Server) pathJob(r *http.Request) (*domain.Job, error) {
	key, err := domain.LookupJobKey(chi.URLParam(r, "key"))
	if err != nil {
		return nil, err
	}
	return s.deps.Store.GetJob(r.Context(), key)
}

// scheduleForm is what the schedule form shows: the stored values, or what
// the administrator typed when a save was refused.
type scheduleForm struct {
	Expression string
	Enabled    bool
	Version    int
	Errors     map[string]string
	Conflict   string
}

// renderBatchJob shows a job's page with form f.
func (s *Server) renderBatchJob(w http.ResponseWriter, r *http.Request, status int, job *domain.Job, f scheduleForm) {
	check, err := s.scheduleCheck(r.Context(), job.Key, f.Expression)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templates.BatchJobView{
		Chrome: s.chrome(r, job.ProcessName, batchSyncCrumbs(job.ProcessName)...),
		Key:    string(job.Key), SymbolicName: job.SymbolicName, ProcessName: job.ProcessName,
		Component: job.Component, ProcessStart: job.ProcessStart, ExecutableFor: job.ExecutableFor,
		Description:      job.Description,
		StoredExpression: job.CronExpression, StoredEnabled: job.Enabled,
		NextRun: s.nextRun(job), ScheduleError: job.ScheduleError,
		UpdatedBy: job.UpdatedBy, UpdatedAt: s.formatTime(job.UpdatedAt),
		Expression: f.Expression, Enabled: f.Enabled, Version: f.Version,
		Errors: f.Errors, Conflict: f.Conflict, Check: check,
	}
	last, err := s.deps.Store.LastRun(r.Context(), job.Key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if last != nil {
		v.LastStatus, v.LastLabel, v.LastAt = string(last.Status), last.Status.Label(), s.formatTime(last.StartedAt)
	}
	s.render(w, r, status, templates.BatchJob(v))
}

// scheduleCheck checks expr for job key as of now: valid or why not, what it
// means, its next runs in the configured zone, and a warning when runs may
// come closer together than the job's last successful run took.
func (s *Server) scheduleCheck(ctx context.Context, key domain.JobKey, expr string) (templates.ScheduleCheckView, error) {
	p := domain.CheckCronExpression(expr, s.deps.Location, s.deps.Now(), previewRuns)
	v := templates.ScheduleCheckView{
		Key: string(key), Expression: p.Expr, Valid: p.Valid, Error: p.Error,
		Description: p.Description, Zone: s.deps.Location.String(),
	}
	for _, t := range p.Next {
		v.Next = append(v.Next, s.formatTime(t))
	}
	if !p.Valid || p.MinInterval <= 0 {
		return v, nil
	}
	last, err := s.deps.Store.LastSuccessfulRun(ctx, key)
	if err != nil {
		return v, err
	}
	if last == nil || last.FinishedAt == nil {
		return v, nil
	}
	if took := last.FinishedAt.Sub(last.StartedAt); took > p.MinInterval {
		v.Warning = fmt.Sprintf("Runs can come %s apart, but the last run took %s (%s). A run still going when the next one is due makes the scheduler skip that one.",
			roundDuration(p.MinInterval), roundDuration(took), s.formatTime(last.StartedAt))
	}
	return v, nil
}

// roundDuration shows a duration to the second (to the millisecond below one).
func roundDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
