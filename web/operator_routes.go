package web

import "github.com/go-chi/chi/v5"

// mountOperatorJobs serves Batch jobs: status, Run now with live progress,
// run history, a run's details and its items as CSV.
func (s *Server) mountOperatorJobs(r chi.Router) {
	r.Get("/jobs", s.handleJobList)
	r.Get("/jobs/{key}/status", s.handleJobStatus)
	r.Post("/jobs/{key}/run", s.handleJobRun)
	r.Get("/jobs/{key}/runs", s.handleJobRuns)
	r.Get("/runs/{id}", s.handleRunShow)
	r.Get("/runs/{id}/items.csv", s.handleRunItemsCSV)
}

// mountOperatorUsers serves the user search and a user's page.
func (s *Server) mountOperatorUsers(r chi.Router) {
	r.Get("/users", s.handleUserSearch)
	r.Get("/users/{id}", s.handleUserShow)
}

// mountOperatorCache serves Clear cache.
func (s *Server) mountOperatorCache(r chi.Router) {
	r.Post("/cache/clear", s.handleCacheClear)
}
