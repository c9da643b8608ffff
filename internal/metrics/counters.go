// Package metrics serves the server's Prometheus metrics on their own
// listen address.
//
// Two kinds of series:
//
//   - Counters of the runs this process ran (idm_job_runs_total, the run
//     duration histogram, entries read, changes, safety stops), fed by the
//     engine through RunCounters, its Observer. Each instance of a cluster
//     counts its own runs: sum them across instances.
//   - Gauges read from the database at scrape time by a Collector (job
//     schedule, last run, last success, the run in progress, users by
//     state): every instance reports the same figures, so take max (or any
//     one) across instances, never the sum.
//
// The job label is the job's short key, "active" or "inactive". Dry runs
// are left out of every series: they change nothing, and the person who
// started one watches it.
package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"idm/internal/domain"
)

// ChangeKinds are the values of idm_sync_changes_total's kind label, each
// with the run count it adds.
var ChangeKinds = []struct {
	Kind  string
	Count func(domain.RunCounts) int
}{
	{"created", func(c domain.RunCounts) int { return c.Created }},
	{"updated", func(c domain.RunCounts) int { return c.Updated }},
	{"deactivated", func(c domain.RunCounts) int { return c.Deactivated }},
	{"credentials", func(c domain.RunCounts) int { return c.CredentialsChanged }},
	{"certificates_on_hold", func(c domain.RunCounts) int { return c.CertificatesOnHold }},
	{"certificates_revoked", func(c domain.RunCounts) int { return c.CertificatesRevoked }},
	{"roles_withdrawn", func(c domain.RunCounts) int { return c.RolesWithdrawn }},
	{"errors", func(c domain.RunCounts) int { return c.Errors }},
}

// finalStatuses are the statuses a run ends with.
var finalStatuses = []domain.RunStatus{
	domain.RunSucceeded, domain.RunSucceededWithErrors, domain.RunFailed, domain.RunSafetyStop, domain.RunAborted,
}

// RunCounters counts the runs of this process. It is the engine's
// Observer and a prometheus.Collector.
type RunCounters struct {
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	read     *prometheus.CounterVec
	changes  *prometheus.CounterVec
	stops    *prometheus.CounterVec
}

// NewRunCounters makes the counters, every label combination of the known
// jobs, statuses, triggers, kinds and reasons present at zero, so that the
// first run's increase shows.
func NewRunCounters() *RunCounters {
	c := &RunCounters{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idm_job_runs_total", Help: "Runs this instance ended, by job, final status and trigger.",
		}, []string{"job", "status", "trigger"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "idm_job_run_duration_seconds", Help: "How long the runs this instance ended took, by job.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400},
		}, []string{"job"}),
		read: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idm_sync_entries_read_total", Help: "Directory entries read by the runs this instance ended, by job.",
		}, []string{"job"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idm_sync_changes_total", Help: "Changes written by the runs this instance ended, by job and kind (errors: users that could not be changed).",
		}, []string{"job", "kind"}),
		stops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idm_safety_stops_total", Help: "Runs of this instance stopped by a safety check before any change, by job and reason.",
		}, []string{"job", "reason"}),
	}
	for _, key := range domain.JobKeys {
		job := string(key)
		c.duration.WithLabelValues(job)
		c.read.WithLabelValues(job)
		for _, st := range finalStatuses {
			for _, tr := range domain.Triggers {
				c.runs.WithLabelValues(job, string(st), triggerLabel(tr))
			}
		}
		for _, k := range ChangeKinds {
			c.changes.WithLabelValues(job, k.Kind)
		}
		for _, r := range domain.StopReasons {
			c.stops.WithLabelValues(job, r)
		}
	}
	return c
}

// triggerLabel is a trigger as a label value: "schedule", "manual",
// "command_line", "api".
func triggerLabel(trigger string) string {
	if trigger == "" {
		return "unknown"
	}
	return strings.ReplaceAll(strings.ToLower(trigger), " ", "_")
}

// RunStarted counts nothing: the gauges read the run in progress from the
// database.
func (c *RunCounters) RunStarted(domain.Run) {}

// RunFinished counts an ended run (not a dry run) with its figures.
func (c *RunCounters) RunFinished(r domain.Run) {
	if r.DryRun || !r.Status.Finished() {
		return
	}
	job := string(r.JobKey)
	c.runs.WithLabelValues(job, string(r.Status), triggerLabel(r.Trigger)).Inc()
	if r.FinishedAt != nil {
		c.duration.WithLabelValues(job).Observe(r.FinishedAt.Sub(r.StartedAt).Seconds())
	}
	c.read.WithLabelValues(job).Add(float64(r.Read))
	for _, k := range ChangeKinds {
		if n := k.Count(r.RunCounts); n > 0 {
			c.changes.WithLabelValues(job, k.Kind).Add(float64(n))
		}
	}
	if r.Status == domain.RunSafetyStop {
		reason := r.StopReason
		if reason == "" {
			reason = "unknown"
		}
		c.stops.WithLabelValues(job, reason).Inc()
	}
}

// Describe and Collect make RunCounters one prometheus.Collector.
func (c *RunCounters) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range c.collectors() {
		x.Describe(ch)
	}
}

func (c *RunCounters) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c.collectors() {
		x.Collect(ch)
	}
}

func (c *RunCounters) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.runs, c.duration, c.read, c.changes, c.stops}
}
