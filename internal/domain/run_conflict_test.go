package domain

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRunInProgress(t *testing.T) {
	stockholm, _ := time.LoadLocation("Europe/Stockholm")
	other := Run{JobKey: JobInactive, TriggeredBy: "olga", Instance: "web-1", StartedAt: time.Date(2026, 12, 1, 7, 53, 23, 0, time.UTC)}
	err := fmt.Errorf("engine: start: %w", &RunInProgress{Other: other})
	t.Run("PlainDomainError", func(t *testing.T) {
		if ErrorCode(err) != ECONFLICT {
			t.Errorf("code %q, want %q", ErrorCode(err), ECONFLICT)
		}
		want := "the inactive job is already running on web-1, started at 2026-12-01 07:53:23 UTC by olga"
		if got := ErrorMessage(err); got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	})
	t.Run("InTheEntryPointsTerms", func(t *testing.T) {
		var rip *RunInProgress
		if !errors.As(err, &rip) {
			t.Fatal("errors.As finds no RunInProgress")
		}
		got := rip.Text(stockholm, func(JobKey) string { return "Synchronize inactive LDAP Users" })
		want := "Synchronize inactive LDAP Users is already running on web-1, started at 2026-12-01 08:53:23 CET by olga"
		if got != want {
			t.Errorf("text %q, want %q", got, want)
		}
	})
	t.Run("ScheduledOnThisInstance", func(t *testing.T) {
		r := &RunInProgress{Other: Run{JobKey: JobActive, Trigger: TriggerSchedule, StartedAt: other.StartedAt}}
		if got, want := r.Text(nil, nil), "the active job is already running, started at 2026-12-01 07:53:23 UTC by schedule"; got != want {
			t.Errorf("text %q, want %q", got, want)
		}
	})
}
