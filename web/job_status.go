package web

import (
	"net/http"

	"idm/templates"
)

// handleJobStatus is the fragment a job's card polls while the job runs.
// Once the run has ended it returns the card without the polling trigger,
// with the final result, so the polling stops.
func (s *Server) handleJobStatus(w http.ResponseWriter, r *http.Request) {
	c, err := s.oneJobCard(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, templates.OpJob(c))
}
