package engine_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/testenv"
)

// loadsCertificates matches a statement that loads certificates (the
// aggregate query only joins them).
var loadsCertificates = regexp.MustCompile("FROM [`\"]certificates[`\"] WHERE")

// asksPendingHoldings matches the aggregate query that asks which users
// still hold anything to end (store.PendingHoldings).
var asksPendingHoldings = regexp.MustCompile("UNION ALL SELECT c.user_id FROM role_assignments")

// countStatements is how many of sqls match re.
func countStatements(sqls []string, re *regexp.Regexp) int {
	n := 0
	for _, sql := range sqls {
		if re.MatchString(sql) {
			n++
		}
	}
	return n
}

// countingSource counts the searches made through it.
type countingSource struct {
	engine.Source
	searches *atomic.Int32
}

func (c countingSource) Search(ctx context.Context, filter string, m domain.AttributeMap, fn func([]directory.Entry) error) error {
	c.searches.Add(1)
	return c.Source.Search(ctx, filter, m, fn)
}

// countSearches makes the engine count the directory searches it makes.
func countSearches(n *atomic.Int32) func(*engine.Deps) {
	return func(d *engine.Deps) {
		d.Dial = func(ctx context.Context, s domain.LDAPSettings, pw string) (engine.Source, error) {
			src, err := engine.DialDirectory(ctx, s, pw)
			if err != nil {
				return nil, err
			}
			return countingSource{Source: src, searches: n}, nil
		}
	}
}

// TestInactiveReadsOnce: the inactive job reads the directory once when its
// plan fits in memory. A directory that stops while it is read stops the
// run before any change; once it has been read, the writes need it no
// more. The survey, a dry run and the run count the same; a second run
// finds nothing to change and writes no run item.
func TestInactiveReadsOnce(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		e := newEnv(t, url, func(s *domain.LDAPSettings) { s.PageSize = 3 }, testenv.PeopleLDIF(12, 1))
		var searches atomic.Int32
		e.eng = e.newEngine("test-instance", countSearches(&searches))
		log := testenv.LogStatements(e.db)
		for i := 1; i <= 12; i++ {
			e.seedDave(fmt.Sprintf("user%06d", i), domain.UserActive)
		}

		stopWhen := func(phrase string) engine.RunOptions {
			stopped := false
			return engine.RunOptions{Progress: func(r domain.Run) {
				if strings.Contains(r.Message, phrase) && !stopped {
					stopped = true
					e.ldap.Stop()
				}
			}}
		}
		r := e.run(domain.JobInactive, stopWhen("entries read"))
		wantStatus(t, r, domain.RunSafetyStop)
		for i := 1; i <= 12; i++ {
			wantUntouched(t, e.user(fmt.Sprintf("user%06d", i)))
		}
		e.ldap.Start()

		dry := e.run(domain.JobInactive, engine.RunOptions{DryRun: true})
		searches.Store(0)
		before := log.Len()
		r = e.run(domain.JobInactive, stopWhen("writing the changes"))
		e.ldap.Start()
		// Every user is still active: each is deactivated whatever it holds,
		// so the survey has nothing to ask the store about holdings.
		if n := countStatements(log.Since(before), asksPendingHoldings); n != 0 {
			t.Errorf("the first run asked %d times which users hold anything to end; every user was active", n)
		}
		wantStatus(t, r, domain.RunSucceeded)
		if n := searches.Load(); n != 1 {
			t.Errorf("the run searched the directory %d times, want once", n)
		}
		if dry.RunCounts != r.RunCounts || r.Deactivated != 12 || r.Read != 12 {
			t.Errorf("dry run counts %+v, run counts %+v: want the same, 12 read and deactivated", dry.RunCounts, r.RunCounts)
		}
		for i := 1; i <= 12; i++ {
			wantDeactivated(t, e.user(fmt.Sprintf("user%06d", i)), r.ID)
		}
		if items := e.items(r.ID, ""); len(items) != 12 || items[0].Seq != 1 || items[11].Seq != 12 {
			t.Errorf("run items %+v, want 12 numbered 1 to 12", items)
		}

		searches.Store(0)
		before = log.Len()
		again := e.run(domain.JobInactive, engine.RunOptions{})
		second := log.Since(before)
		if n := countStatements(second, loadsCertificates); n != 0 {
			t.Errorf("the second run loaded certificates %d times, where one aggregate query says nothing is left to end", n)
		}
		// A page of three users a query: four pages.
		if n := countStatements(second, asksPendingHoldings); n != 4 {
			t.Errorf("the second run asked %d times which users hold anything to end, want once a page (4)", n)
		}
		wantStatus(t, again, domain.RunSucceeded)
		if again.Unchanged != 12 || again.Deactivated != 0 || searches.Load() != 1 || len(e.items(again.ID, "")) != 0 {
			t.Errorf("second run %+v, %d searches, %d items: want 12 unchanged, one search, no item",
				again.RunCounts, searches.Load(), len(e.items(again.ID, "")))
		}
	})
}
