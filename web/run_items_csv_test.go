package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

func TestRunItemsCSV(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, envOptions{dbURL: dbURL, accounts: opAccounts})
		run := seedRunItems(t, e.db)
		const n = runItems
		olga := e.signIn(t, "olga")

		read := func(t *testing.T, path string) (*http.Response, [][]string) {
			t.Helper()
			res, body := olga.get(t, path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
			}
			recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatalf("the download is not valid CSV: %v", err)
			}
			return res, recs
		}

		t.Run("OneRowPerItem", func(t *testing.T) {
			res, recs := read(t, "/operator/runs/"+run.ID+"/items.csv")
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="run-`+run.ID+`-inactive.csv"` {
				t.Errorf("Content-Disposition %q", cd)
			}
			if got := strings.Join(recs[0], ","); got != "username,dn,outcome,changes,error,stable_id" {
				t.Errorf("header row %q", got)
			}
			if len(recs) != n+1 {
				t.Fatalf("%d rows, want a header and %d items", len(recs), n)
			}
			want := [][]string{
				{`'=HYPERLINK("x")`, `cn=Doe\, "Jo",ou=people,dc=example,dc=com`, "deactivated", "state: active → inactive", "", ""},
				{"user0002", "uid=user0002,ou=people,dc=example,dc=com", "error", "", "line one\nline two, \"quoted\"", "9f0c2d3e-1111-2222-3333-444455556666"},
				{"user0003", "uid=user0003,ou=people,dc=example,dc=com", "deactivated", "role Approver: assigned → withdrawn; credential Card C-1: active → inactive", "", ""},
			}
			for i, w := range want {
				if got := recs[i+1]; strings.Join(got, "|") != strings.Join(w, "|") {
					t.Errorf("row %d = %q, want %q", i+1, got, w)
				}
			}
			if last := recs[n][0]; last != fmt.Sprintf("user%04d", n) {
				t.Errorf("last row is %q, want user%04d (every page streamed, in order)", last, n)
			}
		})
		t.Run("FilteredByOutcome", func(t *testing.T) {
			res, recs := read(t, "/operator/runs/"+run.ID+"/items.csv?outcome=error")
			if len(recs) != 2 || recs[1][0] != "user0002" {
				t.Errorf("error rows = %q, want the header and user0002", recs)
			}
			if cd := res.Header.Get("Content-Disposition"); !strings.HasSuffix(cd, `-inactive-error.csv"`) {
				t.Errorf("Content-Disposition %q", cd)
			}
		})
		t.Run("RunPageFiltersAndPages", func(t *testing.T) {
			_, body := olga.get(t, "/operator/runs/"+run.ID+"?outcome=error")
			if !strings.Contains(body, `data-testid="item-user0002"`) || strings.Contains(body, `data-testid="item-user0003"`) {
				t.Error("the outcome filter does not keep only the errors")
			}
			if !strings.Contains(body, "stable id 9f0c2d3e-1111-2222-3333-444455556666") {
				t.Error("the error item does not show the entry's stable id")
			}
			_, body = olga.get(t, "/operator/runs/"+run.ID+"?page=2")
			if !strings.Contains(body, `data-testid="item-user0051"`) || strings.Contains(body, `data-testid="item-user0050"`) ||
				!strings.Contains(body, "Page 2 of 25") {
				t.Error("page 2 of the items does not start at the 51st")
			}
			_, body = olga.get(t, "/operator/runs/"+run.ID)
			if !strings.Contains(body, "role Approver") || !strings.Contains(body, "withdrawn") {
				t.Error("the run page does not show the field changes")
			}
		})
	})
}

// runItems is how many items seedRunItems records: more than one page of
// the download (500).
const runItems = 1203

// seedRunItems records a run with runItems items, and values that need
// quoting or could be read as formulas.
func seedRunItems(t *testing.T, db *store.DB) *domain.Run {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	run := &domain.Run{ID: store.NewID(), JobKey: domain.JobInactive, Trigger: domain.TriggerManual, TriggeredBy: "olga",
		Status: domain.RunRunning, StartedAt: now, HeartbeatAt: now}
	if err := db.CreateRun(ctx, run, now); err != nil {
		t.Fatal(err)
	}
	items := make([]domain.RunItem, runItems)
	for i := range items {
		items[i] = domain.RunItem{RunID: run.ID, Seq: i + 1, Username: fmt.Sprintf("user%04d", i+1),
			DN: fmt.Sprintf("uid=user%04d,ou=people,dc=example,dc=com", i+1), Outcome: domain.OutcomeDeactivated,
			Changes: `[{"field":"state","before":"active","after":"inactive"}]`}
	}
	items[0].Username, items[0].DN = `=HYPERLINK("x")`, `cn=Doe\, "Jo",ou=people,dc=example,dc=com`
	items[1].Outcome, items[1].Changes, items[1].Error = domain.OutcomeError, "", "line one\nline two, \"quoted\""
	items[1].DirectoryID = "9f0c2d3e-1111-2222-3333-444455556666"
	items[2].Changes = `[{"field":"role Approver","before":"assigned","after":"withdrawn"},{"field":"credential Card C-1","before":"active","after":"inactive"}]`
	if err := db.AddRunItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	return run
}
