package domain

import "time"

// JobKey names one of the batch jobs.
type JobKey string

const (
	JobActive   JobKey = "active"
	JobInactive JobKey = "inactive"
)

// JobKeys lists the batch jobs in the order the product shows them.
var JobKeys = []JobKey{JobActive, JobInactive}

// ParseJobKey accepts "active" or "inactive".
func ParseJobKey(s string) (JobKey, error) {
	switch JobKey(s) {
	case JobActive, JobInactive:
		return JobKey(s), nil
	}
	return "", Errorf(EINVALID, "unknown job %q: use active or inactive", s)
}

// Job is a batch job definition with its schedule. Version increases with
// every save, for optimistic locking between administrators.
type Job struct {
	Key            JobKey     `gorm:"column:key;primaryKey"`
	SymbolicName   string     `gorm:"column:symbolic_name"`
	ProcessName    string     `gorm:"column:process_name"`
	Description    string     `gorm:"column:description"`
	Component      string     `gorm:"column:component"`
	ProcessStart   string     `gorm:"column:process_start"`
	ExecutableFor  string     `gorm:"column:executable_for"`
	CronExpression string     `gorm:"column:cron_expression"`
	Enabled        bool       `gorm:"column:enabled"`
	Version        int        `gorm:"column:version"`
	UpdatedAt      time.Time  `gorm:"column:updated_at"`
	UpdatedBy      string     `gorm:"column:updated_by"`
	ScheduleError  string     `gorm:"column:schedule_error"` // why the scheduler could not take the expression
	NextRunAt      *time.Time `gorm:"column:next_run_at"`
	LastFiredSlot  *time.Time `gorm:"column:last_fired_slot"` // compare-and-set across a cluster
}

func (Job) TableName() string { return "batch_jobs" }

// Run triggers.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerCLI      = "command line"
	TriggerAPI      = "api"
)

// Triggers lists every trigger, for those that report on each (metrics).
var Triggers = []string{TriggerSchedule, TriggerManual, TriggerCLI, TriggerAPI}

// RunStatus is where a run is, or how it ended.
type RunStatus string

const (
	RunRunning             RunStatus = "running"
	RunSucceeded           RunStatus = "succeeded"
	RunSucceededWithErrors RunStatus = "succeeded_with_errors"
	RunFailed              RunStatus = "failed"
	RunSafetyStop          RunStatus = "safety_stop"
	RunAborted             RunStatus = "aborted"
)

// Label is the status as the product shows it.
func (s RunStatus) Label() string {
	switch s {
	case RunSucceededWithErrors:
		return "succeeded with errors"
	case RunSafetyStop:
		return "stopped by a safety check"
	}
	return string(s)
}

// Finished reports whether the run has ended.
func (s RunStatus) Finished() bool { return s != RunRunning }

// OK reports whether the run ended without failing.
func (s RunStatus) OK() bool { return s == RunSucceeded || s == RunSucceededWithErrors }

// RunCounts are the figures a run reports.
type RunCounts struct {
	Read                int `gorm:"column:read_count" json:"read"`
	Created             int `gorm:"column:created_count" json:"created"`
	Updated             int `gorm:"column:updated_count" json:"updated"`
	Unchanged           int `gorm:"column:unchanged_count" json:"unchanged"`
	Deactivated         int `gorm:"column:deactivated_count" json:"deactivated"`
	CredentialsChanged  int `gorm:"column:credentials_changed" json:"credentials_changed"`
	CertificatesOnHold  int `gorm:"column:certificates_on_hold" json:"certificates_on_hold"`
	CertificatesRevoked int `gorm:"column:certificates_revoked" json:"certificates_revoked"`
	RolesWithdrawn      int `gorm:"column:roles_withdrawn" json:"roles_withdrawn"`
	Errors              int `gorm:"column:error_count" json:"errors"`
	Orphans             int `gorm:"column:orphan_count" json:"orphans"`
}

// Add adds o's figures to c.
func (c *RunCounts) Add(o RunCounts) {
	c.Read += o.Read
	c.Created += o.Created
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Deactivated += o.Deactivated
	c.CredentialsChanged += o.CredentialsChanged
	c.CertificatesOnHold += o.CertificatesOnHold
	c.CertificatesRevoked += o.CertificatesRevoked
	c.RolesWithdrawn += o.RolesWithdrawn
	c.Errors += o.Errors
	c.Orphans += o.Orphans
}

// Run is one execution of a batch job.
type Run struct {
	ID            string     `gorm:"column:id;primaryKey" json:"id"`
	JobKey        JobKey     `gorm:"column:job_key" json:"job"`
	Trigger       string     `gorm:"column:trigger_kind" json:"trigger"`
	TriggeredBy   string     `gorm:"column:triggered_by" json:"triggered_by"`
	DryRun        bool       `gorm:"column:dry_run" json:"dry_run"`
	Status        RunStatus  `gorm:"column:status" json:"status"`
	StartedAt     time.Time  `gorm:"column:started_at" json:"started_at"`
	FinishedAt    *time.Time `gorm:"column:finished_at" json:"finished_at,omitempty"`
	HeartbeatAt   time.Time  `gorm:"column:heartbeat_at" json:"-"`
	ExpectedTotal int        `gorm:"column:expected_total" json:"expected_total"`
	Instance      string     `gorm:"column:instance" json:"instance"`
	Message       string     `gorm:"column:message" json:"message"`
	// StopReason says which safety check stopped the run (StopReasons), ""
	// for any other end.
	StopReason string `gorm:"column:stop_reason" json:"stop_reason,omitempty"`
	RunCounts  `gorm:"embedded" json:"counts"`
}

func (Run) TableName() string { return "job_runs" }

// Duration is how long the run took, or has taken so far.
func (r *Run) Duration(now time.Time) time.Duration {
	if r.FinishedAt != nil {
		return r.FinishedAt.Sub(r.StartedAt)
	}
	return now.Sub(r.StartedAt)
}

// Run item outcomes: what a run did with one user.
const (
	OutcomeCreated     = "created"
	OutcomeUpdated     = "updated"
	OutcomeDeactivated = "deactivated"
	OutcomeUnchanged   = "unchanged"
	OutcomeError       = "error"
	OutcomeOrphan      = "orphan"
)

// RunItem records what a run did with one user, or why it could not. Runs do
// not record an item for an unchanged user, so a repeated run writes nothing.
type RunItem struct {
	RunID    string  `gorm:"column:run_id;primaryKey" json:"-"`
	Seq      int     `gorm:"column:seq;primaryKey" json:"seq"`
	UserID   *string `gorm:"column:user_id" json:"user_id,omitempty"`
	Username string  `gorm:"column:username" json:"username"`
	DN       string  `gorm:"column:dn" json:"dn"`
	Outcome  string  `gorm:"column:outcome" json:"outcome"`
	Changes  string  `gorm:"column:changes" json:"changes,omitempty"` // JSON list of FieldChange
	Error    string  `gorm:"column:error" json:"error,omitempty"`

	// DirectoryID is the entry's stable identifier, on error items: an
	// entry that could not be mapped is still named by it.
	DirectoryID string `gorm:"column:directory_id" json:"directory_id,omitempty"`
}

func (RunItem) TableName() string { return "run_items" }
