package web

import (
	"net/http"

	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) handleJobList(w http.ResponseWriter, r *http.Request) {
	s.renderJobList(w, r, http.StatusOK, "", nil)
}

// renderJobList shows Batch jobs; errMsg and notice (one job's card notice)
// come from a refused Run now.
func (s *Server) renderJobList(w http.ResponseWriter, r *http.Request, status int, errMsg string, notice *templates.OpJobCard) {
	snap, err := s.opSnapshot(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	keys := make([]domain.JobKey, len(snap.Jobs))
	for i := range snap.Jobs {
		keys[i] = snap.Jobs[i].Key
	}
	runs, err := s.cardRuns(r.Context(), keys)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templates.OpJobsView{
		Chrome: s.chrome(r, "Batch jobs", templates.Crumb{Label: "Home", Href: "/operator"}, templates.Crumb{Label: "Batch jobs"}),
		Error:  errMsg,
		Settings: templates.OpSettingsSummary{
			Configured: snap.Settings.Configured, URL: snap.Settings.URL, BaseDN: snap.Settings.BaseDN, Preset: snap.Settings.Preset,
		},
	}
	for i := range snap.Jobs {
		c := s.jobCard(&snap.Jobs[i], snap.LoadedAt, runs)
		if notice != nil && notice.Key == c.Key {
			c.Notice, c.NoticeError = notice.Notice, notice.NoticeError
		}
		v.Jobs = append(v.Jobs, c)
	}
	s.render(w, r, status, templates.OpJobs(v))
}
