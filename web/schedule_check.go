package web

import (
	"net/http"

	"idm/templates"
)

// handleScheduleCheck is the live check of the Expression field: htmx gets
// the check fragment; a plain request (the form's Check button without
// JavaScript) gets the whole page with the expression filled in.
func (s *Server) handleScheduleCheck(w http.ResponseWriter, r *http.Request) {
	job, err := s.pathJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	expr := r.URL.Query().Get("expression")
	if !isHTMX(r) {
		s.renderBatchJob(w, r, http.StatusOK, job, scheduleForm{
			Expression: expr, Enabled: r.URL.Query().Get("enabled") == "true", Version: job.Version,
		})
		return
	}
	v, err := s.scheduleCheck(r.Context(), job.Key, expr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, templates.ScheduleCheck(v))
}
