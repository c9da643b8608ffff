package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/internal/opcache"
	"idm/internal/store"
	"idm/templates"
)

// cardRuns is what the job cards show of the runs, read once per request
// for every card: the run of each job in progress and the newest finished
// and successful runs.
type cardRuns struct {
	running map[domain.JobKey]domain.Run
	sum     *store.RunsSummary
}

// cardRuns reads the runs of jobs keys in one query. The run in progress is
// this process's live snapshot first (updated per page), else a run another
// instance records with a fresh heartbeat.
func (s *Server) cardRuns(ctx context.Context, keys []domain.JobKey) (*cardRuns, error) {
	sum, err := s.deps.Store.RunsSummary(ctx, keys, s.deps.Now().Add(-runFreshness))
	if err != nil {
		return nil, err
	}
	out := &cardRuns{running: map[domain.JobKey]domain.Run{}, sum: sum}
	for _, r := range sum.Running {
		out.running[r.JobKey] = r
	}
	for _, k := range keys {
		if r, ok := s.deps.Engine.Status(k); ok {
			out.running[k] = r
		}
	}
	return out, nil
}

// jobCard shows job j: its cached definition, whether it runs (with
// progress) and its last finished run, all from runs.
func (s *Server) jobCard(j *opcache.Job, runs *cardRuns) templates.OpJobCard {
	now := s.deps.Now()
	c := templates.OpJobCard{
		Key: string(j.Key), ProcessName: j.ProcessName, Description: j.Description,
		Expression: j.Expression, ScheduleError: j.ScheduleError,
	}
	if j.Schedule != nil {
		c.ExprDescription = j.Schedule.Description()
	}
	if next := j.NextRun(now); !next.IsZero() {
		c.NextRun = s.formatTime(next)
	}
	switch {
	case !j.Enabled:
		c.Status = "disabled"
	case j.Schedule == nil:
		c.Status = "not scheduled"
	default:
		c.Status = "scheduled"
	}
	if run, ok := runs.running[j.Key]; ok {
		c.Status, c.Running = "running", true
		c.Progress = s.progress(&run, runs.sum, now)
	}
	if last, ok := runs.sum.Last[j.Key]; ok {
		sum := s.runSummary(&last, false)
		c.Last = &sum
	}
	return c
}

// progress describes a running run: entries read and written, the rate,
// and the expected total (the run's own count, else the last successful
// run's read count).
func (s *Server) progress(run *domain.Run, sum *store.RunsSummary, now time.Time) templates.OpProgress {
	p := templates.OpProgress{
		RunID: run.ID, Href: runHref(run.ID), Started: s.formatTime(run.StartedAt), By: run.TriggeredBy,
		DryRun: run.DryRun, Read: run.Read, Written: run.Created + run.Updated + run.Deactivated,
		Expected: run.ExpectedTotal, Message: run.Message,
	}
	if run.Instance != "" {
		if _, local := s.deps.Engine.Status(run.JobKey); !local {
			p.Instance = run.Instance
		}
	}
	if p.Expected <= 0 {
		if last, ok := sum.LastSuccessful[run.JobKey]; ok {
			p.Expected = last.Read
		}
	}
	rate := 0.0
	if secs := now.Sub(run.StartedAt).Seconds(); secs > 0 {
		rate = float64(run.Read) / secs
	}
	p.Rate = fmt.Sprintf("%.1f", rate)
	return p
}

// oneJobCard builds the card of the job named in the URL.
func (s *Server) oneJobCard(r *http.Request) (templates.OpJobCard, error) {
	key, err := domain.LookupJobKey(chi.URLParam(r, "key"))
	if err != nil {
		return templates.OpJobCard{}, err
	}
	snap, err := s.opSnapshot(r.Context())
	if err != nil {
		return templates.OpJobCard{}, err
	}
	j, err := snap.Job(key)
	if err != nil {
		return templates.OpJobCard{}, err
	}
	runs, err := s.cardRuns(r.Context(), []domain.JobKey{key})
	if err != nil {
		return templates.OpJobCard{}, err
	}
	return s.jobCard(j, runs), nil
}
