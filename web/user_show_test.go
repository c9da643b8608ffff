package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// awkwardUsernames are directory usernames that a path segment carries
// badly: separators, escapes, dot segments, spaces, non-ASCII.
var awkwardUsernames = []string{
	"ou=staff/ann", "100%", "a%2Fb", "a%41b", "what?", "c#", "semi;colon", "comma,name", "plus+sign", "amp&x=1",
	"with space", " lead", "trail ", "jös\u00e9", "日本", "back\\slash", "..", ".", "quote\"d", "<b>",
}

// Every stored user can be opened: from the search page and from a run's
// page, the link leads to that user, whatever the username holds.
func TestUserPageReachable(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL, accounts: opAccounts})
		ctx := context.Background()
		ids := map[string]string{}
		for _, name := range awkwardUsernames {
			u := domain.User{Username: name, DisplayName: "Person " + name, State: domain.UserActive, Source: domain.SourceImport}
			if _, err := e.db.ImportUser(ctx, store.UserDetail{User: u}); err != nil {
				t.Fatalf("import %q: %v", name, err)
			}
			d, err := e.db.UserByUsername(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			ids[name] = d.ID
		}
		olga := e.signIn(t, "olga")
		runPage := "/operator/runs/" + addRunWithUsers(t, e.db, ids)
		for _, name := range awkwardUsernames {
			t.Run(url.PathEscape(name), func(t *testing.T) {
				search := "/operator/users?q=" + url.QueryEscape(strings.TrimSpace(name))
				openUserLink(t, olga, search, "[data-testid=users] tbody tr", name)
				openUserLink(t, olga, runPage, "[data-testid=run-items] tbody tr", name)
			})
		}
	})
}

// addRunWithUsers records a finished run with one item per user.
func addRunWithUsers(t *testing.T, db *store.DB, ids map[string]string) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	run := &domain.Run{ID: store.NewID(), JobKey: domain.JobActive, Trigger: "manual", Status: domain.RunSucceeded,
		StartedAt: now, FinishedAt: &now, HeartbeatAt: now}
	if err := db.CreateRun(ctx, run, now); err != nil {
		t.Fatal(err)
	}
	var items []domain.RunItem
	for _, name := range awkwardUsernames {
		id := ids[name]
		items = append(items, domain.RunItem{RunID: run.ID, Seq: len(items) + 1, UserID: &id, Username: name, Outcome: domain.OutcomeCreated})
	}
	if err := db.AddRunItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	return run.ID
}

// openUserLink finds name's row among rows on page, follows the row's link
// and checks that it opens name's own page.
func openUserLink(t *testing.T, c *client, page, rows, name string) {
	t.Helper()
	res, body := c.get(t, page)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", page, res.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var href string
	doc.Find(rows + " a").Each(func(_ int, a *goquery.Selection) {
		if a.Text() == name {
			href, _ = a.Attr("href")
		}
	})
	if href == "" {
		t.Fatalf("%s: no link with the text %q", page, name)
	}
	// As a browser does: resolved against the page, dot segments removed.
	ref, err := url.Parse(href)
	if err != nil {
		t.Fatalf("%s: the link of %q, %q: %v", page, name, href, err)
	}
	base, _ := url.Parse(c.e.srv.URL + page)
	res, body = c.get(t, base.ResolveReference(ref).RequestURI())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: the link of %q, %s, answers %d", page, name, href, res.StatusCode)
	}
	doc, _ = goquery.NewDocumentFromReader(strings.NewReader(body))
	got := doc.Find("[data-testid=user-fields] dt:contains('Username') + dd").First().Text()
	if got != name {
		t.Fatalf("%s: the link of %q, %s, opens the page of %q", page, name, href, got)
	}
}
