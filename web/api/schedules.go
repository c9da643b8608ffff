package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"idm/internal/admin"
	"idm/internal/domain"
)

// Schedule is a job's schedule, with the version to send back with a
// change.
type Schedule struct {
	Key           string     `json:"key" enum:"active,inactive"`
	Expression    string     `json:"expression"`
	Enabled       bool       `json:"enabled"`
	Version       int        `json:"version" doc:"Send it back with PUT: a change made against an older version is refused (409)."`
	NextRun       *time.Time `json:"next_run,omitempty"`
	ScheduleError string     `json:"schedule_error,omitempty" doc:"Why the scheduler could not take the expression."`
	UpdatedAt     time.Time  `json:"updated_at"`
	UpdatedBy     string     `json:"updated_by"`
	Warning       string     `json:"warning,omitempty" doc:"After a save: why the running scheduler could not apply it yet."`
}

type scheduleInput struct {
	Key string `path:"key"`
}

type schedulePutInput struct {
	Key  string `path:"key"`
	Body struct {
		Expression string `json:"expression" doc:"A cron expression, as the Admin form takes it (5 or 6 fields, @daily, @every 90s, CRON_TZ=…)."`
		Enabled    bool   `json:"enabled"`
		Version    int    `json:"version" minimum:"0" maximum:"2147483647" doc:"The version the change was made against (GET gives it)."`
	}
}

type scheduleOutput struct {
	Body *Schedule
}

func (s *server) registerSchedules() {
	huma.Register(s.api, s.operation(http.MethodGet, "/jobs/{key}/schedule", "get-schedule", "Read a job's schedule", administrators, http.StatusNotFound), s.getSchedule)
	op := s.operation(http.MethodPut, "/jobs/{key}/schedule", "put-schedule", "Change a job's schedule", administrators, http.StatusNotFound, http.StatusConflict)
	op.Description = "Checks the expression as the Admin form does (422 with the reason at expression), saves it unless the job changed since version (409), " +
		"and reschedules the job at once here and on the other instances. Audited as done by the token."
	huma.Register(s.api, op, s.putSchedule)
}

func (s *server) getSchedule(ctx context.Context, in *scheduleInput) (*scheduleOutput, error) {
	key, err := domain.LookupJobKey(in.Key)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	j, err := s.d.Store.GetJob(ctx, key)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &scheduleOutput{Body: s.scheduleOf(j)}, nil
}

func (s *server) putSchedule(ctx context.Context, in *schedulePutInput) (*scheduleOutput, error) {
	key, err := domain.LookupJobKey(in.Key)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	sc := admin.Schedule{Expression: in.Body.Expression, Enabled: in.Body.Enabled, Version: in.Body.Version}
	saved, err := s.d.Admin.SaveSchedule(ctx, key, sc, actor(ctx))
	var stale *admin.StaleJobError
	if errors.As(err, &stale) {
		return nil, s.problem(ctx, domain.Errorf(domain.ECONFLICT, "%s. Nothing was saved: read the schedule again and apply your change to it.", domain.ErrorMessage(err)))
	} else if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := s.scheduleOf(saved.Job)
	if saved.NotApplied != nil {
		out.Warning = "Saved, but the scheduler could not apply it yet: " + domain.ErrorMessage(saved.NotApplied)
	}
	return &scheduleOutput{Body: out}, nil
}

func (s *server) scheduleOf(j *domain.Job) *Schedule {
	return &Schedule{Key: string(j.Key), Expression: j.CronExpression, Enabled: j.Enabled, Version: j.Version,
		NextRun: s.nextRun(j), ScheduleError: j.ScheduleError, UpdatedAt: j.UpdatedAt, UpdatedBy: j.UpdatedBy}
}
