package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/internal/opcache"
	"idm/templates"
)

// runFreshness is how recent a running run's heartbeat must be for the
// Operator to show it as running (the engine's default StaleAfter): an older
// one belongs to a process that died and will be marked aborted.
const runFreshness = 2 * time.Minute

// opSnapshot is the Operator cache's content, loaded at first use.
func (s *Server) opSnapshot(ctx context.Context) (*opcache.Snapshot, error) {
	return s.deps.Cache.Snapshot(ctx)
}

// operatorJob is the job the URL names and its name as the Operator shows
// it (processName).
func (s *Server) operatorJob(r *http.Request) (domain.JobKey, string, error) {
	key, err := domain.LookupJobKey(chi.URLParam(r, "key"))
	if err != nil {
		return "", "", err
	}
	snap, err := s.opSnapshot(r.Context())
	if err != nil {
		return "", "", err
	}
	return key, processName(snap, key), nil
}

// processName names job key as the cache holds it, the key itself when the
// cache cannot say.
func processName(snap *opcache.Snapshot, key domain.JobKey) string {
	if snap != nil {
		if j, err := snap.Job(key); err == nil {
			return j.ProcessName
		}
	}
	return string(key)
}

func runHref(id string) string { return "/operator/runs/" + url.PathEscape(id) }

// userHref links a user's page by the user's id: a username may hold "/",
// "%", "?", dot segments or anything else a path segment carries badly, and
// a rename in the directory keeps the id.
func userHref(id string) string { return "/operator/users/" + url.PathEscape(id) }

// runCounts lists a run's figures; with all false only the read count and
// the figures that are not zero.
func runCounts(c domain.RunCounts, all bool) []templates.OpCount {
	list := []templates.OpCount{
		{Label: "Read", Value: c.Read, TestID: "read"},
		{Label: "Created", Value: c.Created, TestID: "created"},
		{Label: "Updated", Value: c.Updated, TestID: "updated"},
		{Label: "Unchanged", Value: c.Unchanged, TestID: "unchanged"},
		{Label: "Deactivated", Value: c.Deactivated, TestID: "deactivated"},
		{Label: "Credentials changed", Value: c.CredentialsChanged, TestID: "credentials-changed"},
		{Label: "Certificates on hold", Value: c.CertificatesOnHold, TestID: "certificates-on-hold"},
		{Label: "Certificates revoked", Value: c.CertificatesRevoked, TestID: "certificates-revoked"},
		{Label: "Roles withdrawn", Value: c.RolesWithdrawn, TestID: "roles-withdrawn"},
		{Label: "Errors", Value: c.Errors, TestID: "errors"},
		{Label: "Orphans", Value: c.Orphans, TestID: "orphans"},
	}
	if all {
		return list
	}
	out := list[:1]
	for _, x := range list[1:] {
		if x.Value != 0 {
			out = append(out, x)
		}
	}
	return out
}

// runSummary describes run for the lists and the run's page.
func (s *Server) runSummary(run *domain.Run, allCounts bool) templates.OpRunSummary {
	v := templates.OpRunSummary{
		ID: run.ID, Href: runHref(run.ID), Status: string(run.Status), StatusLabel: run.Status.Label(),
		Trigger: run.Trigger, By: run.TriggeredBy, DryRun: run.DryRun, Started: s.formatTime(run.StartedAt),
		Duration: domain.FormatDuration(run.Duration(s.deps.Now())), Message: run.Message,
		Counts: runCounts(run.RunCounts, allCounts),
	}
	if run.FinishedAt != nil {
		v.Finished = s.formatTime(*run.FinishedAt)
	}
	return v
}

// parseChanges reads a run item's changes (a JSON list of field changes).
// Anything else is shown as it is rather than lost.
func parseChanges(raw string) []templates.OpChange {
	if raw == "" {
		return nil
	}
	var fc []domain.FieldChange
	if err := json.Unmarshal([]byte(raw), &fc); err != nil {
		return []templates.OpChange{{Field: "changes", After: raw}}
	}
	out := make([]templates.OpChange, len(fc))
	for i, c := range fc {
		out[i] = templates.OpChange{Field: c.Field, Before: c.Before, After: c.After}
	}
	return out
}

// pageParam is the 1-based page number asked for (domain.ParsePage).
func pageParam(r *http.Request) (int, error) {
	return domain.ParsePage(r.URL.Query().Get("page"))
}

// pager links the pages of a list of total entries, size per page, keeping
// the request's other query parameters.
func pager(r *http.Request, page, size, total int) templates.OpPager {
	pages := max(1, (total+size-1)/size)
	href := func(p int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		return r.URL.Path + "?" + q.Encode()
	}
	p := templates.OpPager{Page: page, Pages: pages, Total: total}
	if page > 1 {
		p.PrevHref = href(min(page-1, pages))
	}
	if page < pages {
		p.NextHref = href(page + 1)
	}
	return p
}
