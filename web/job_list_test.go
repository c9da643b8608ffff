package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/logger"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/opcache"
	"idm/internal/store"
	"idm/internal/testenv"
	"idm/web"
)

// statementLog records every SQL statement the store runs.
type statementLog struct {
	logger.Interface
	mu   sync.Mutex
	sqls []string
}

func (l *statementLog) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	l.mu.Lock()
	l.sqls = append(l.sqls, sql)
	l.mu.Unlock()
}

func (l *statementLog) LogMode(logger.LogLevel) logger.Interface { return l }

// since returns the statements after the first n.
func (l *statementLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.sqls[n:]...)
}

func (l *statementLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sqls)
}

// The Batch jobs page is polled by every open browser while a run writes:
// it must cost a fixed, small number of queries, whatever the number of jobs.
func TestJobListQueries(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, dbURL)
		hash, err := opPasswordHash()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateAccount(ctx, "olga", domain.RoleOperator, hash, "test"); err != nil {
			t.Fatal(err)
		}
		// A finished successful run and a failed one of the active job, then
		// one in progress (another instance's, with a fresh heartbeat).
		base := db.Now().Add(-time.Hour)
		for i, st := range []domain.RunStatus{domain.RunSucceeded, domain.RunFailed, domain.RunRunning} {
			at := base.Add(time.Duration(i) * time.Minute)
			r := &domain.Run{ID: store.NewID(), JobKey: domain.JobActive, Trigger: domain.TriggerSchedule,
				Status: domain.RunRunning, StartedAt: at, HeartbeatAt: at, Instance: "node-2"}
			if err := db.CreateRun(ctx, r, db.Now().Add(time.Hour)); err != nil {
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
		// Installed before the server starts: the statements are recorded
		// from the handlers' goroutines.
		log := &statementLog{Interface: logger.Discard}
		db.Read.Logger, db.Write.Logger = log, log
		cache := opcache.New(db, time.UTC, db.Now)
		srv := httptest.NewServer(web.New(web.Deps{
			Store: db, Auth: auth.New(db, db.Now, 30*time.Minute, 12*time.Hour), Location: time.UTC, Now: db.Now,
			Cache: cache, CacheStatus: cache.Status,
		}))
		t.Cleanup(srv.Close)
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(url.Values{"username": {"olga"}, "password": {opPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, err := c.Do(req)
		if err != nil || res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in: %v %v", res, err)
		}
		res.Body.Close()

		get := func(t *testing.T, path string) (string, []string) {
			t.Helper()
			// The cache loads at first use: load it before counting.
			if _, err := cache.Snapshot(ctx); err != nil {
				t.Fatal(err)
			}
			n := log.len()
			res, err := c.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, res)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
			}
			return body, log.since(n)
		}
		check := func(t *testing.T, body string) {
			t.Helper()
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`data-testid="job-progress" data-read="702"`),
				regexp.MustCompile(`Read <strong data-testid="progress-read">702</strong>\s+of 700\s`),
				regexp.MustCompile(`data-testid="job-last-status">failed<`),
			} {
				if !want.MatchString(body) {
					t.Errorf("page lacks %s", want)
				}
			}
		}

		t.Run("PageIsThreeQueries", func(t *testing.T) {
			body, sqls := get(t, "/operator/jobs")
			check(t, body)
			// The session with its account, the cache's staleness, the runs.
			if len(sqls) != 3 {
				t.Errorf("GET /operator/jobs ran %d statements, want 3:\n%s", len(sqls), strings.Join(sqls, "\n"))
			}
		})
		t.Run("CardIsTwoQueries", func(t *testing.T) {
			body, sqls := get(t, "/operator/jobs/active/status")
			check(t, body)
			if len(sqls) != 2 {
				t.Errorf("GET /operator/jobs/active/status ran %d statements, want 2:\n%s", len(sqls), strings.Join(sqls, "\n"))
			}
		})
	})
}
