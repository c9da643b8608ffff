package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/internal/opcache"
	"idm/templates"
)

// runningRuns finds the run of each job in progress: this process's live
// snapshot first (updated per page), else a run another instance records
// with a fresh heartbeat.
func (s *Server) runningRuns(ctx context.Context) (map[domain.JobKey]domain.Run, error) {
	out := map[domain.JobKey]domain.Run{}
	runs, err := s.deps.Store.RunningRuns(ctx, s.deps.Now().Add(-runFreshness))
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		out[r.JobKey] = r
	}
	if s.deps.Engine != nil {
		for _, k := range domain.JobKeys {
			if r, ok := s.deps.Engine.Status(k); ok {
				out[k] = r
			}
		}
	}
	return out, nil
}

// jobCard shows job j: its cached definition, whether it runs (with
// progress) and its last finished run.
func (s *Server) jobCard(ctx context.Context, j *opcache.Job, running map[domain.JobKey]domain.Run) (templates.OpJobCard, error) {
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
	if run, ok := running[j.Key]; ok {
		c.Status, c.Running = "running", true
		p, err := s.progress(ctx, &run, now)
		if err != nil {
			return c, err
		}
		c.Progress = p
	}
	// The newest finished run: while a run is in progress it is the newest
	// of all, so look one further.
	runs, _, err := s.deps.Store.ListRuns(ctx, j.Key, 0, 2)
	if err != nil {
		return c, err
	}
	for i := range runs {
		if runs[i].Status.Finished() {
			sum := s.runSummary(&runs[i], false)
			c.Last = &sum
			break
		}
	}
	return c, nil
}

// progress describes a running run: entries read and written, the rate,
// and the expected total (the run's own count, else the last successful
// run's read count).
func (s *Server) progress(ctx context.Context, run *domain.Run, now time.Time) (templates.OpProgress, error) {
	p := templates.OpProgress{
		RunID: run.ID, Href: runHref(run.ID), Started: s.formatTime(run.StartedAt), By: run.TriggeredBy,
		DryRun: run.DryRun, Read: run.Read, Written: run.Created + run.Updated + run.Deactivated,
		Expected: run.ExpectedTotal, Message: run.Message,
	}
	if run.Instance != "" && s.deps.Engine != nil {
		if _, local := s.deps.Engine.Status(run.JobKey); !local {
			p.Instance = run.Instance
		}
	}
	if p.Expected <= 0 {
		last, err := s.deps.Store.LastSuccessfulRun(ctx, run.JobKey)
		if err != nil {
			return p, err
		}
		if last != nil {
			p.Expected = last.Read
		}
	}
	rate := 0.0
	if secs := now.Sub(run.StartedAt).Seconds(); secs > 0 {
		rate = float64(run.Read) / secs
	}
	p.Rate = fmt.Sprintf("%.1f", rate)
	return p, nil
}

// oneJobCard builds the card of the job named in the URL.
func (s *Server) oneJobCard(r *http.Request) (templates.OpJobCard, error) {
	key, err := domain.ParseJobKey(chi.URLParam(r, "key"))
	if err != nil {
		return templates.OpJobCard{}, domain.Errorf(domain.ENOTFOUND, "There is no batch job %q.", chi.URLParam(r, "key"))
	}
	snap, err := s.opSnapshot(r.Context())
	if err != nil {
		return templates.OpJobCard{}, err
	}
	j, err := snap.Job(key)
	if err != nil {
		return templates.OpJobCard{}, err
	}
	running, err := s.runningRuns(r.Context())
	if err != nil {
		return templates.OpJobCard{}, err
	}
	return s.jobCard(r.Context(), j, running)
}
