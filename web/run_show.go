package web

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

const itemsPerPage = 50

// runOutcomes are the outcome filter's choices, in the order shown.
func runOutcomes() []templates.OpOption {
	return []templates.OpOption{
		{Value: "", Label: "All"},
		{Value: domain.OutcomeCreated, Label: "Created"},
		{Value: domain.OutcomeUpdated, Label: "Updated"},
		{Value: domain.OutcomeDeactivated, Label: "Deactivated"},
		{Value: domain.OutcomeUnchanged, Label: "Unchanged (skipped)"},
		{Value: domain.OutcomeError, Label: "Error"},
		{Value: domain.OutcomeOrphan, Label: "Orphan (no longer in the directory)"},
	}
}

// outcomeParam reads the outcome filter; an unknown value is bad input.
func outcomeParam(r *http.Request) (string, error) {
	o := r.URL.Query().Get("outcome")
	for _, k := range runOutcomes() {
		if k.Value == o {
			return o, nil
		}
	}
	return "", domain.Errorf(domain.EINVALID, "Unknown outcome %q: use created, updated, deactivated, unchanged, error or orphan.", o)
}

// runAndOutcome reads the run named in the URL and the outcome filter.
func (s *Server) runAndOutcome(r *http.Request) (*domain.Run, string, error) {
	if err := domain.CheckRunID(chi.URLParam(r, "id")); err != nil {
		return nil, "", err
	}
	run, err := s.deps.Store.GetRun(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return nil, "", err
	}
	outcome, err := outcomeParam(r)
	if err != nil {
		return nil, "", err
	}
	return run, outcome, nil
}

// handleRunShow is a run's page: how it went, its figures and the users it
// touched, filtered by outcome and paged.
func (s *Server) handleRunShow(w http.ResponseWriter, r *http.Request) {
	run, outcome, err := s.runAndOutcome(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A running run of this process has fresher figures than its row.
	if !run.Status.Finished() {
		if live, ok := s.deps.Engine.Status(run.JobKey); ok && live.ID == run.ID {
			run = &live
		}
	}
	snap, _ := s.opSnapshot(r.Context()) // only for the job's name
	name := processName(snap, run.JobKey)
	page, err := pageParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items, total, err := s.deps.Store.ListRunItems(r.Context(), run.ID, outcome, (page-1)*itemsPerPage, itemsPerPage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	csv := runHref(run.ID) + "/items.csv"
	if outcome != "" {
		csv += "?outcome=" + url.QueryEscape(outcome)
	}
	v := templates.OpRunView{
		Chrome: s.chrome(r, "Run", templates.Crumb{Label: "Home", Href: "/operator"},
			templates.Crumb{Label: "Batch jobs", Href: "/operator/jobs"},
			templates.Crumb{Label: name, Href: "/operator/jobs/" + string(run.JobKey) + "/runs"},
			templates.Crumb{Label: s.formatTime(run.StartedAt)}),
		Run: s.runSummary(run, true), JobKey: string(run.JobKey), ProcessName: name, Instance: run.Instance,
		Running: !run.Status.Finished(), Pager: pager(r, page, itemsPerPage, total), CSVHref: csv,
	}
	for _, o := range runOutcomes() {
		o.Selected = o.Value == outcome
		v.Outcomes = append(v.Outcomes, o)
	}
	for _, it := range items {
		row := templates.OpItemRow{Seq: it.Seq, Username: it.Username, DN: it.DN, Outcome: it.Outcome,
			Changes: parseChanges(it.Changes), Error: it.Error, DirectoryID: it.DirectoryID}
		if it.UserID != nil && it.Username != "" {
			row.UserHref = userHref(*it.UserID)
		}
		v.Items = append(v.Items, row)
	}
	s.render(w, r, http.StatusOK, templates.OpRun(v))
}
