package web

import (
	"net/http"

	"idm/templates"
)

const runsPerPage = 20

// handleJobRuns is one job's run history, newest first.
func (s *Server) handleJobRuns(w http.ResponseWriter, r *http.Request) {
	key, name, err := s.operatorJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := pageParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	runs, total, err := s.deps.Store.ListRuns(r.Context(), key, (page-1)*runsPerPage, runsPerPage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templates.OpRunsView{
		Chrome: s.chrome(r, "Run history", templates.Crumb{Label: "Home", Href: "/operator"},
			templates.Crumb{Label: "Batch jobs", Href: "/operator/jobs"}, templates.Crumb{Label: name}),
		Key: string(key), ProcessName: name, Pager: pager(r, page, runsPerPage, total),
	}
	for i := range runs {
		v.Runs = append(v.Runs, s.runSummary(&runs[i], false))
	}
	s.render(w, r, http.StatusOK, templates.OpRuns(v))
}
