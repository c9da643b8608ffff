package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/store"
)

func TestUserSearch(t *testing.T) {
	e := newEnv(t, envOptions{accounts: opAccounts})
	ctx := context.Background()
	add := func(username, given, surname, email string, state domain.UserState) {
		t.Helper()
		u := domain.User{Username: username, GivenName: given, Surname: surname, DisplayName: given + " " + surname,
			Email: email, State: state, Source: domain.SourceImport}
		if _, err := e.db.ImportUser(ctx, store.UserDetail{User: u}); err != nil {
			t.Fatal(err)
		}
	}
	add("ann", "Ann", "Lee", "ann@example.com", domain.UserActive)
	add("bob", "Bob", "Annan", "bob@example.org", domain.UserInactive)
	add("cid", "Cid", "Moss", "cid@corp.example", domain.UserActive)
	for i := range 30 {
		add(fmt.Sprintf("zed%02d", i), "Zed", "Number", fmt.Sprintf("zed%02d@example.com", i), domain.UserActive)
	}
	olga := e.signIn(t, "olga")

	for _, tc := range []struct {
		name, query string
		want        []string
		notWant     []string
	}{
		{"ByUsernameOrName", "q=ann", []string{"user-ann", "user-bob"}, []string{"user-cid"}},
		{"ByEmail", "q=corp.example", []string{"user-cid"}, []string{"user-ann"}},
		{"ByState", "q=ann&state=inactive", []string{"user-bob"}, []string{"user-ann"}},
		{"NothingFound", "q=nobody", []string{"0 users found"}, []string{`data-testid="users"`}},
		{"FirstPage", "q=zed", []string{"30 users found", "user-zed00", "user-zed24", "Page 1 of 2", "page=2"}, []string{"user-zed25"}},
		{"SecondPage", "q=zed&page=2", []string{"user-zed25", "user-zed29", "Page 2 of 2"}, []string{"user-zed24"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := olga.get(t, "/operator/users?"+tc.query)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
			results := between(body, `id="user-results"`, "</main>")
			for _, w := range tc.want {
				if !strings.Contains(results, w) {
					t.Errorf("results lack %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(results, w) {
					t.Errorf("results contain %q", w)
				}
			}
		})
	}
}
