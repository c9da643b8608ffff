package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"idm/internal/domain"
	"idm/internal/store"
)

// Store is what the database gauges read at each scrape: a few small
// queries (*store.DB is one).
type Store interface {
	JobStats(ctx context.Context, freshAfter time.Time) ([]store.JobStat, error)
	UserCounts(ctx context.Context) (map[domain.UserState]int, error)
}

// gauge describes one database gauge.
func gauge(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descDatabaseUp       = gauge("idm_database_up", "1 when this scrape could read the database, 0 when it could not (the job and user gauges are then missing).")
	descEnabled          = gauge("idm_job_enabled", "1 when the job's schedule is enabled.", "job")
	descInterval         = gauge("idm_job_interval_seconds", "The longest gap between two consecutive runs of the job's cron expression among its next 100 runs (a weekday-only job reports its weekend gap).", "job")
	descNextRun          = gauge("idm_job_next_run_timestamp_seconds", "When the scheduler fires the job next (enabled jobs only).", "job")
	descRunning          = gauge("idm_job_running", "1 while a run of the job is in progress on any instance.", "job")
	descRunStarted       = gauge("idm_job_run_started_timestamp_seconds", "When the run in progress started (only while one is).", "job")
	descLastRunStatus    = gauge("idm_job_last_run_status", "1 for the final status of the job's last ended run, 0 for the other statuses.", "job", "status")
	descLastSuccess      = gauge("idm_job_last_success_timestamp_seconds", "When the job's last successful run (with or without per-user errors) ended.", "job")
	descLastSuccessTaken = gauge("idm_job_last_success_duration_seconds", "How long the job's last successful run took.", "job")
	descUsers            = gauge("idm_users", "Users in the identity store, by state.", "state")
)

// Collector reads the job and user gauges from the database at scrape
// time, so that every instance of a cluster reports the same truth.
type Collector struct {
	st         Store
	loc        *time.Location
	staleAfter time.Duration
	now        func() time.Time
	log        *slog.Logger
	timeout    time.Duration
}

// Describe sends every gauge's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDatabaseUp, descEnabled, descInterval, descNextRun, descRunning,
		descRunStarted, descLastRunStatus, descLastSuccess, descLastSuccessTaken, descUsers} {
		ch <- d
	}
}

// Collect reads the database and sends the gauges. When the database
// cannot be read, it sends idm_database_up 0 alone and logs why.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	now := c.now()
	stats, err := c.st.JobStats(ctx, now.Add(-c.staleAfter))
	var users map[domain.UserState]int
	if err == nil {
		users, err = c.st.UserCounts(ctx)
	}
	if err != nil {
		c.log.Warn("metrics: the database could not be read", "err", err)
		ch <- prometheus.MustNewConstMetric(descDatabaseUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descDatabaseUp, prometheus.GaugeValue, 1)
	for _, s := range stats {
		c.collectJob(ch, &s, now)
	}
	for _, state := range []domain.UserState{domain.UserActive, domain.UserInactive} {
		ch <- prometheus.MustNewConstMetric(descUsers, prometheus.GaugeValue, float64(users[state]), string(state))
	}
}

// collectJob sends one job's gauges.
func (c *Collector) collectJob(ch chan<- prometheus.Metric, s *store.JobStat, now time.Time) {
	job := string(s.Job.Key)
	send := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{job}, labels...)...)
	}
	send(descEnabled, boolValue(s.Job.Enabled))
	if gap, ok := longestGap(s.Job.CronExpression, c.loc, now); ok {
		send(descInterval, gap.Seconds())
	}
	if s.Job.Enabled && s.Job.NextRunAt != nil {
		send(descNextRun, unix(*s.Job.NextRunAt))
	}
	send(descRunning, boolValue(s.Running != nil))
	if s.Running != nil {
		send(descRunStarted, unix(s.Running.StartedAt))
	}
	if last := s.LastFinished; last != nil {
		for _, st := range finalStatuses {
			send(descLastRunStatus, boolValue(last.Status == st), string(st))
		}
	}
	if ok := s.LastSuccess; ok != nil && ok.FinishedAt != nil {
		send(descLastSuccess, unix(*ok.FinishedAt))
		send(descLastSuccessTaken, ok.FinishedAt.Sub(ok.StartedAt).Seconds())
	}
}

// gapRuns is how many coming runs longestGap looks at.
const gapRuns = 100

// longestGap is the longest gap between consecutive runs of expr among its
// next gapRuns runs after now; false when expr does not parse or never
// runs twice.
func longestGap(expr string, loc *time.Location, now time.Time) (time.Duration, bool) {
	sched, err := domain.ParseCronExpression(expr, loc, now)
	if err != nil {
		return 0, false
	}
	var longest time.Duration
	prev := sched.Next(now)
	for i := 0; i < gapRuns && !prev.IsZero(); i++ {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	return longest, longest > 0
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
