package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// Issue 10 item 5 (parameters): a query parameter or path segment that no
// stored row can hold answers 4xx with a message, never a 500, on both
// databases; a search for a NUL byte finds nobody instead of everyone.
func TestOperatorParametersRefuseHostileValues(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL, accounts: opAccounts})
		ctx := context.Background()
		for _, name := range []string{"ann", "ben"} {
			u := domain.User{Username: name, State: domain.UserActive, Source: domain.SourceImport}
			if _, err := e.db.ImportUser(ctx, store.UserDetail{User: u}); err != nil {
				t.Fatal(err)
			}
		}
		admin := e.signIn(t, "adam")
		long := strings.Repeat("a", 300)
		gets := map[string]int{
			"/operator/users?q=%00":                         http.StatusUnprocessableEntity,
			"/operator/users?q=%FF":                         http.StatusUnprocessableEntity,
			"/operator/users?q=a%0Ab":                       http.StatusUnprocessableEntity,
			"/operator/users?q=" + long:                     http.StatusUnprocessableEntity,
			"/operator/users/%00":                           http.StatusNotFound,
			"/operator/users/%FF":                           http.StatusNotFound,
			"/operator/users/" + long:                       http.StatusNotFound,
			"/operator/runs/%00":                            http.StatusNotFound,
			"/operator/runs/%FF":                            http.StatusNotFound,
			"/operator/runs/" + long:                        http.StatusNotFound,
			"/operator/runs/%00/items.csv":                  http.StatusNotFound,
			"/operator/jobs/%00/runs":                       http.StatusNotFound,
			"/operator/jobs/%00/status":                     http.StatusNotFound,
			"/admin/batch-sync/%00":                         http.StatusNotFound,
			"/admin/batch-sync/%FF":                         http.StatusNotFound,
			"/admin/batch-sync/" + long:                     http.StatusNotFound,
			"/admin/batch-sync/%00/check":                   http.StatusNotFound,
			"/admin/batch-sync/active/check?expression=%00": http.StatusOK,
		}
		for path, want := range gets {
			t.Run("GET "+path[:min(len(path), 60)], func(t *testing.T) {
				res, body := admin.get(t, path)
				if res.StatusCode != want {
					t.Fatalf("status %d, want %d: %.300s", res.StatusCode, want, body)
				}
				if want != http.StatusOK && !strings.Contains(body, `data-testid="error-message"`) {
					t.Errorf("no message: %.300s", body)
				}
				if strings.Contains(body, "/operator/users/ann") || strings.Contains(body, "/operator/users/ben") {
					t.Error("the refused search lists users")
				}
			})
		}
		t.Run("CheckShowsWhyTheExpressionIsRefused", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/admin/batch-sync/active/check?expression=%00", nil)
			req.Header.Set("HX-Request", "true")
			res, err := admin.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, res); !strings.Contains(body, "the expression contains a NUL byte") {
				t.Errorf("check: %.300s", body)
			}
		})
		for path, want := range map[string]int{
			"/operator/jobs/%00/run":          http.StatusNotFound,
			"/admin/batch-sync/%00":           http.StatusNotFound,
			"/operator/jobs/active/run?x=%zz": http.StatusBadRequest,
		} {
			t.Run("POST "+path, func(t *testing.T) {
				res := admin.post(t, path, url.Values{"expression": {"@daily"}, "version": {"1"}}, nil)
				if res.StatusCode != want {
					t.Fatalf("status %d, want %d", res.StatusCode, want)
				}
			})
		}
		if runs, _, err := e.db.ListRuns(ctx, domain.JobActive, 0, 10); err != nil || len(runs) != 0 {
			t.Errorf("runs %v, %v: a refused Run now started one", runs, err)
		}
	})
}
