package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/templates"
)

const itemsPerPage = 50

// runOutcomes are the outcome filter's choices, in the order shown; their
// labels are the outcomes as the run page shows them.
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

// outcomeLabel is an item's outcome as people read it.
func outcomeLabel(outcome string) string {
	switch outcome {
	case domain.OutcomeUnchanged:
		return "Unchanged"
	case domain.OutcomeOrphan:
		return "Orphan"
	}
	for _, o := range runOutcomes() {
		if o.Value == outcome {
			return o.Label
		}
	}
	return outcome
}

// itemFilter reads the run page's filters: the outcome (an unknown one is
// bad input) and the username to find.
func itemFilter(r *http.Request) (store.RunItemFilter, error) {
	f := store.RunItemFilter{Outcome: r.URL.Query().Get("outcome"), Username: strings.TrimSpace(r.URL.Query().Get("q"))}
	if err := domain.CheckSearchText(f.Username); err != nil {
		return f, err
	}
	for _, k := range runOutcomes() {
		if k.Value == f.Outcome {
			return f, nil
		}
	}
	return f, domain.Errorf(domain.EINVALID, "Unknown outcome %q: use created, updated, deactivated, unchanged, error or orphan.", f.Outcome)
}

// runAndFilter reads the run named in the URL and the items' filter.
func (s *Server) runAndFilter(r *http.Request) (*domain.Run, store.RunItemFilter, error) {
	if err := domain.CheckRunID(chi.URLParam(r, "id")); err != nil {
		return nil, store.RunItemFilter{}, err
	}
	run, err := s.deps.Store.GetRun(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return nil, store.RunItemFilter{}, err
	}
	f, err := itemFilter(r)
	if err != nil {
		return nil, f, err
	}
	return run, f, nil
}

// filterQuery is f as the query of a link that keeps it.
func filterQuery(f store.RunItemFilter) string {
	q := url.Values{}
	if f.Outcome != "" {
		q.Set("outcome", f.Outcome)
	}
	if f.Username != "" {
		q.Set("q", f.Username)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// handleRunShow is a run's page: how it went and its figures first, then
// the users it touched, one compact row each, filtered and paged.
func (s *Server) handleRunShow(w http.ResponseWriter, r *http.Request) {
	run, filter, err := s.runAndFilter(r)
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
	page, err := pageParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items, total, err := s.deps.Store.FindRunItems(r.Context(), run.ID, filter, (page-1)*itemsPerPage, itemsPerPage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	creds, err := s.runCredentials(r, run)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	snap, _ := s.opSnapshot(r.Context()) // only for the job's name
	name := processName(snap, run.JobKey)
	v := templates.OpRunView{
		Chrome: s.chrome(r, "Run", templates.Crumb{Label: "Home", Href: "/operator"},
			templates.Crumb{Label: "Batch jobs", Href: "/operator/jobs"},
			templates.Crumb{Label: name, Href: "/operator/jobs/" + string(run.JobKey) + "/runs"},
			templates.Crumb{Label: s.formatTime(run.StartedAt)}),
		Run: s.runSummary(run, true), JobKey: string(run.JobKey), ProcessName: name, Instance: run.Instance,
		Running: !run.Status.Finished(), Credentials: creds, Find: filter.Username,
		Shown: itemsShown(total, filter), Pager: pager(r, page, itemsPerPage, total),
		CSVHref: runHref(run.ID) + "/items.csv" + filterQuery(filter),
	}
	for _, o := range runOutcomes() {
		o.Selected = o.Value == filter.Outcome
		v.Outcomes = append(v.Outcomes, o)
	}
	for _, it := range items {
		v.Items = append(v.Items, itemRow(it))
	}
	s.render(w, r, http.StatusOK, templates.OpRun(v))
}

// itemsShown says how many users the list holds: "50 users", or with a
// filter "3 users found".
func itemsShown(total int, f store.RunItemFilter) string {
	n := domain.Plural(total, "user", "")
	if f.Outcome != "" || f.Username != "" {
		return n + " found"
	}
	return n
}

// runCredentials is what a run's deactivations did per credential type:
// the types it changed, with their end states.
func (s *Server) runCredentials(r *http.Request, run *domain.Run) ([]templates.OpCredentialRow, error) {
	if run.CredentialsChanged == 0 && run.CertificatesOnHold == 0 && run.CertificatesRevoked == 0 {
		return nil, nil
	}
	counts, err := s.deps.Store.RunCredentialChanges(r.Context(), run.ID)
	if err != nil {
		return nil, err
	}
	var rows []templates.OpCredentialRow
	for _, c := range counts {
		if c.Credentials == 0 && c.Certificates == 0 {
			continue
		}
		credState, certState, err := domain.DeactivationTarget(c.Type)
		if err != nil {
			return nil, err
		}
		rows = append(rows, templates.OpCredentialRow{Type: c.Type.Label(),
			Credentials: c.Credentials, CredentialState: domain.StateLabel(string(credState)),
			Certificates: c.Certificates, CertificateState: domain.StateLabel(string(certState))})
	}
	return rows, nil
}

// itemRow is one user of a run: a summary of what changed, and each change
// with its label.
func itemRow(it domain.RunItem) templates.OpItemRow {
	row := templates.OpItemRow{Seq: it.Seq, Username: it.Username, DN: it.DN, Outcome: it.Outcome,
		OutcomeLabel: outcomeLabel(it.Outcome), Error: it.Error, DirectoryID: it.DirectoryID}
	if it.UserID != nil && it.Username != "" {
		row.UserHref = userHref(*it.UserID)
	}
	row.Summary = changesSummary(parseChanges(it.Changes))
	row.Changes = labelChanges(it.Changes)
	return row
}

// labelChanges reads a run item's changes and labels each for people.
func labelChanges(raw string) []templates.OpChange {
	changes := parseChanges(raw)
	for i, c := range changes {
		changes[i] = labelChange(c)
	}
	return changes
}

// labelChange names a change as people read it: "Given name", "Card C-1",
// "Certificate 99 (Card C-1)", "Role Approver", states without underscores.
func labelChange(c templates.OpChange) templates.OpChange {
	kind, rest := domain.KindOfChange(c.Field)
	out := templates.OpChange{Field: rest, Before: domain.StateLabel(c.Before), After: domain.StateLabel(c.After)}
	switch kind {
	case domain.ChangeField:
		out = templates.OpChange{Field: domain.FieldLabel(c.Field), Before: c.Before, After: c.After}
	case domain.ChangeState:
		out.Field = "State"
	case domain.ChangeSource:
		out = templates.OpChange{Field: "Source", Before: c.Before, After: c.After}
	case domain.ChangeCertificate:
		out.Field = "Certificate " + rest
	case domain.ChangeRole:
		out.Field = "Role " + rest
	}
	return out
}

// changesSummary is a user's changes on one line: the new state, then how
// many credentials, certificates, roles and fields moved ("inactive;
// 2 credentials, 4 certificates, 3 roles").
func changesSummary(changes []templates.OpChange) string {
	var state string
	var n [4]int // credentials, certificates, roles, fields
	for _, c := range changes {
		switch kind, _ := domain.KindOfChange(c.Field); kind {
		case domain.ChangeState:
			state = domain.StateLabel(c.After)
		case domain.ChangeCredential:
			n[0]++
		case domain.ChangeCertificate:
			n[1]++
		case domain.ChangeRole:
			n[2]++
		case domain.ChangeField:
			n[3]++
		}
	}
	var parts []string
	for i, unit := range []string{"credential", "certificate", "role", "field"} {
		if n[i] > 0 {
			parts = append(parts, domain.Plural(n[i], unit, ""))
		}
	}
	switch {
	case state == "":
		return strings.Join(parts, ", ")
	case len(parts) == 0:
		return state
	}
	return state + "; " + strings.Join(parts, ", ")
}
