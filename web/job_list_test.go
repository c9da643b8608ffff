package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// The Batch jobs page is polled by every open browser while a run writes:
// it must cost a fixed, small number of queries, whatever the number of jobs.
func TestJobListQueries(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL, accounts: opAccounts, statements: true})
		seedJobRuns(t, e.db)
		olga := e.signIn(t, "olga")
		get := func(t *testing.T, path string) (string, []string) {
			t.Helper()
			// The cache loads at first use: load it before counting.
			if _, err := e.cache.Snapshot(context.Background()); err != nil {
				t.Fatal(err)
			}
			n := e.statements.Len()
			res, body := olga.get(t, path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
			}
			return body, e.statements.Since(n)
		}

		t.Run("PageIsThreeQueries", func(t *testing.T) {
			body, sqls := get(t, "/operator/jobs")
			wantJobCards(t, body)
			// The session with its account, the cache's staleness, the runs.
			if len(sqls) != 3 {
				t.Errorf("GET /operator/jobs ran %d statements, want 3:\n%s", len(sqls), strings.Join(sqls, "\n"))
			}
		})
		t.Run("CardIsTwoQueries", func(t *testing.T) {
			body, sqls := get(t, "/operator/jobs/active/status")
			wantJobCards(t, body)
			if len(sqls) != 2 {
				t.Errorf("GET /operator/jobs/active/status ran %d statements, want 2:\n%s", len(sqls), strings.Join(sqls, "\n"))
			}
		})
	})
}

// seedJobRuns records a finished successful run and a failed one of the
// active job, then one in progress (another instance's, with a fresh
// heartbeat).
func seedJobRuns(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	base := db.Now().Add(-time.Hour)
	for i, st := range []domain.RunStatus{domain.RunSucceeded, domain.RunFailed, domain.RunRunning} {
		at := base.Add(time.Duration(i) * time.Minute)
		r := &domain.Run{ID: store.NewID(), JobKey: domain.JobActive, Trigger: domain.TriggerSchedule,
			Status: domain.RunRunning, StartedAt: at, HeartbeatAt: at, Instance: "node-2"}
		if err := db.CreateRun(ctx, r, time.Minute); err != nil {
			t.Fatal(err)
		}
		r.Status, r.Read, r.HeartbeatAt = st, 700+i, db.Now()
		if st != domain.RunRunning {
			fin := at.Add(time.Second)
			r.FinishedAt = &fin
		}
		if err := db.FinishRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

// wantJobCards checks the active job's card: the other instance's run in
// progress and the failed run as the last one.
func wantJobCards(t *testing.T, body string) {
	t.Helper()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`data-testid="job-progress" data-read="702"`),
		regexp.MustCompile(`data-testid="progress-text">Read 702 of 700 entries, written 0, [0-9.]+ entries/s.<`),
		regexp.MustCompile(`data-testid="job-last-status">failed<`),
	} {
		if !want.MatchString(body) {
			t.Errorf("page lacks %s", want)
		}
	}
}
