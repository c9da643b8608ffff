package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/store"
)

// Job is a batch job as GET /jobs lists it.
type Job struct {
	Key           string     `json:"key" enum:"active,inactive"`
	ProcessName   string     `json:"process_name" doc:"The job's name as Admin and Operator show it."`
	SymbolicName  string     `json:"symbolic_name"`
	Expression    string     `json:"expression" doc:"The cron expression that schedules it."`
	Enabled       bool       `json:"enabled"`
	ScheduleError string     `json:"schedule_error,omitempty" doc:"Why the scheduler could not take the expression."`
	NextRun       *time.Time `json:"next_run,omitempty" doc:"When the running scheduler fires it next; absent when it is disabled or not scheduled."`
	Running       bool       `json:"running"`
	CurrentRun    *Run       `json:"current_run,omitempty" doc:"The run in progress, on any instance."`
	LastRun       *Run       `json:"last_run,omitempty" doc:"The newest finished run."`
}

// Run is a run's record: how it went and its figures.
type Run struct {
	ID            string           `json:"id"`
	Job           string           `json:"job" enum:"active,inactive"`
	Status        string           `json:"status" enum:"running,succeeded,succeeded_with_errors,failed,safety_stop,aborted"`
	Finished      bool             `json:"finished" doc:"Whether the run has ended (any status but running): poll until it is true."`
	DryRun        bool             `json:"dry_run"`
	Trigger       string           `json:"trigger" doc:"schedule, manual (Run now), command line or api."`
	TriggeredBy   string           `json:"triggered_by" doc:"Who started it, as the audit log names them."`
	StartedAt     time.Time        `json:"started_at"`
	FinishedAt    *time.Time       `json:"finished_at,omitempty"`
	Instance      string           `json:"instance"`
	Message       string           `json:"message"`
	ExpectedTotal int              `json:"expected_total" doc:"Entries the run expects to read (0 when not known yet)."`
	Counts        domain.RunCounts `json:"counts"`
}

func runOf(r *domain.Run) *Run {
	return &Run{
		ID: r.ID, Job: string(r.JobKey), Status: string(r.Status), Finished: r.Status.Finished(), DryRun: r.DryRun,
		Trigger: r.Trigger, TriggeredBy: r.TriggeredBy, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		Instance: r.Instance, Message: r.Message, ExpectedTotal: r.ExpectedTotal, Counts: r.RunCounts,
	}
}

type jobsOutput struct {
	Body struct {
		Jobs []Job `json:"jobs"`
	}
}

type startInput struct {
	Key  string `path:"key" doc:"active or inactive"`
	Body *struct {
		DryRun bool `json:"dry_run,omitempty" doc:"Compute and record what the run would change, and change nothing."`
	} `required:"false"`
}

type runOutput struct {
	Body *Run
}

func (s *server) registerJobs() {
	huma.Register(s.api, s.operation(http.MethodGet, "/jobs", "list-jobs", "List the batch jobs", operators), s.listJobs)
	op := s.operation(http.MethodPost, "/jobs/{key}/runs", "start-run", "Start a run", operators, http.StatusNotFound, http.StatusConflict)
	op.DefaultStatus = http.StatusAccepted
	op.Description = "Starts the job and answers once its run record exists (202), with the record; poll GET /runs/{id} until finished is true. " +
		"A run in progress anywhere (this job or the other) is a 409. The run is audited as started by the token."
	huma.Register(s.api, op, s.startRun)
}

func (s *server) listJobs(ctx context.Context, _ *struct{}) (*jobsOutput, error) {
	jobs, err := s.d.Store.ListJobs(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	runs, err := s.runsSummary(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &jobsOutput{}
	out.Body.Jobs = []Job{}
	for i := range jobs {
		out.Body.Jobs = append(out.Body.Jobs, s.jobOf(&jobs[i], runs))
	}
	return out, nil
}

// runsSummary reads the runs the job list shows in one query; a run of this
// process has fresher figures than its row.
func (s *server) runsSummary(ctx context.Context) (*store.RunsSummary, error) {
	sum, err := s.d.Store.RunsSummary(ctx, domain.JobKeys, s.d.Now().Add(-runFreshness))
	if err != nil {
		return nil, err
	}
	for i, r := range sum.Running {
		if live, ok := s.d.Engine.Status(r.JobKey); ok && live.ID == r.ID {
			sum.Running[i] = live
		}
	}
	return sum, nil
}

func (s *server) jobOf(j *domain.Job, runs *store.RunsSummary) Job {
	out := Job{Key: string(j.Key), ProcessName: j.ProcessName, SymbolicName: j.SymbolicName, Expression: j.CronExpression,
		Enabled: j.Enabled, ScheduleError: j.ScheduleError, NextRun: s.nextRun(j)}
	for i := range runs.Running {
		if runs.Running[i].JobKey == j.Key {
			out.Running, out.CurrentRun = true, runOf(&runs.Running[i])
		}
	}
	if last, ok := runs.Last[j.Key]; ok {
		out.LastRun = runOf(&last)
	}
	return out
}

// nextRun is when the running scheduler fires j next; nil when j is
// disabled or could not be scheduled.
func (s *server) nextRun(j *domain.Job) *time.Time {
	if !j.Enabled || j.ScheduleError != "" {
		return nil
	}
	if t, ok := s.d.Scheduler.NextRun(j.Key); ok {
		t = t.UTC()
		return &t
	}
	return nil
}

// startRun is Run now for programs: the engine starts the run and the
// answer comes once its record exists, or at once when the engine refuses
// (a run in progress), with the message Run now shows.
func (s *server) startRun(ctx context.Context, in *startInput) (*runOutput, error) {
	key, err := domain.LookupJobKey(in.Key)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	opts := engine.RunOptions{Trigger: domain.TriggerAPI, By: actor(ctx)}
	if in.Body != nil {
		opts.DryRun = in.Body.DryRun
	}
	h, err := s.d.Engine.Start(ctx, key, opts)
	if domain.ErrorCode(err) == domain.ECONFLICT {
		job, getErr := s.d.Store.GetJob(ctx, key)
		if getErr != nil {
			return nil, s.problem(ctx, getErr)
		}
		loggerFrom(ctx).Info("api run refused", "job", key, "by", opts.By, "reason", domain.ErrorMessage(err))
		return nil, s.problem(ctx, domain.Errorf(domain.ECONFLICT, "%s was not started: %s.", job.ProcessName, domain.ErrorMessage(err)))
	} else if err != nil {
		return nil, s.problem(ctx, fmt.Errorf("api: start %s: %w", key, err))
	}
	run := h.Run()
	loggerFrom(ctx).Info("api run started", "job", key, "run", run.ID, "by", opts.By, "dry_run", opts.DryRun)
	return &runOutput{Body: runOf(&run)}, nil
}
