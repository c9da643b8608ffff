package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) mountAdminBatchSync(r chi.Router) {
	r.Get("/batch-sync", s.handleBatchSyncList)
	r.Get("/batch-sync/{key}", s.handleBatchSyncShow)
	r.Get("/batch-sync/{key}/check", s.handleScheduleCheck)
	r.Post("/batch-sync/{key}", s.handleScheduleSave)
}

func batchSyncCrumbs(jobName string) []templates.Crumb {
	crumbs := []templates.Crumb{{Label: "Home", Href: "/admin"}, {Label: "Batch Synchronization", Href: "/admin/batch-sync"}}
	if jobName != "" {
		crumbs = append(crumbs, templates.Crumb{Label: jobName})
	}
	return crumbs
}

func (s *Server) handleBatchSyncList(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.deps.Store.ListJobs(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templates.BatchSyncListView{Chrome: s.chrome(r, "Batch Synchronization", batchSyncCrumbs("")...)}
	for i := range jobs {
		j := &jobs[i]
		row := templates.BatchJobRow{
			Key: string(j.Key), ProcessName: j.ProcessName, Expression: j.CronExpression, Description: s.describe(j.CronExpression),
			Enabled: j.Enabled, NextRun: s.nextRun(j), ScheduleError: j.ScheduleError,
		}
		last, err := s.deps.Store.LastRun(r.Context(), j.Key)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if last != nil {
			row.LastStatus, row.LastLabel, row.LastAt = string(last.Status), last.Status.Label(), s.formatTime(last.StartedAt)
		}
		v.Jobs = append(v.Jobs, row)
	}
	s.render(w, r, http.StatusOK, templates.BatchSyncList(v))
}

// nextRun is when job runs next, in the configured zone, as the running
// scheduler says. A disabled or unschedulable job has no next run.
func (s *Server) nextRun(j *domain.Job) string {
	if !j.Enabled || j.ScheduleError != "" {
		return ""
	}
	if t, ok := s.deps.Scheduler.NextRun(j.Key); ok {
		return s.formatTime(t)
	}
	return ""
}
