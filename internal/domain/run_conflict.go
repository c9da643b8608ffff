package domain

import (
	"fmt"
	"time"
)

// RunInProgress refuses to start a run while another run is in progress,
// here or on another instance. It carries the run in the way, so that each
// entry point says it in its own terms (the process's name, the configured
// zone); read as a plain domain error (ErrorCode, ErrorMessage) it is a
// conflict that names the job by its key and the time in UTC.
type RunInProgress struct {
	Other Run
}

func (e *RunInProgress) Error() string { return ECONFLICT + ": " + e.Text(nil, nil) }

// Unwrap is the conflict as a plain domain error.
func (e *RunInProgress) Unwrap() error { return &Error{Code: ECONFLICT, Message: e.Text(nil, nil)} }

// Text is the refusal with the start time in loc (UTC when nil) and the job
// named by name (by its key when nil): "Synchronize … is already running on
// web-1, started at 2026-12-01 07:53:23 UTC by olga".
func (e *RunInProgress) Text(loc *time.Location, name func(JobKey) string) string {
	job := "the " + string(e.Other.JobKey) + " job"
	if name != nil {
		job = name(e.Other.JobKey)
	}
	by := e.Other.TriggeredBy
	if by == "" {
		by = e.Other.Trigger
	}
	where := ""
	if e.Other.Instance != "" {
		where = " on " + e.Other.Instance
	}
	return fmt.Sprintf("%s is already running%s, started at %s by %s", job, where, FormatTime(e.Other.StartedAt, loc), by)
}
