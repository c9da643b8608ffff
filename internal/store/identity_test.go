package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

func newUser(name string, dirID string) *domain.User {
	now := time.Now().UTC()
	u := &domain.User{ID: store.NewID(), Username: name, State: domain.UserActive, Source: domain.SourceLDAP, CreatedAt: now, UpdatedAt: now}
	if dirID != "" {
		u.DirectoryID = &dirID
	}
	return u
}

func TestApplyChangesRetriesUserByUser(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		run := &domain.Run{ID: store.NewID(), JobKey: domain.JobActive, Trigger: domain.TriggerCLI, Status: domain.RunRunning, StartedAt: db.Now(), HeartbeatAt: db.Now()}
		if err := db.CreateRun(ctx, run, time.Minute); err != nil {
			t.Fatal(err)
		}
		existing := newUser("taken", "")
		if _, err := db.ApplyChanges(ctx, []*store.UserChange{{Create: existing}}, db.Now(), run.ID); err != nil {
			t.Fatal(err)
		}
		item := func(seq int, name string) *domain.RunItem {
			return &domain.RunItem{RunID: run.ID, Seq: seq, Username: name, Outcome: domain.OutcomeCreated}
		}
		good1, bad, good2 := newUser("one", "d1"), newUser("taken", "d2"), newUser("two", "d3")
		changes := []*store.UserChange{
			{Create: good1, Item: item(1, "one")},
			{Create: bad, Item: item(2, "taken")},
			{Create: good2, Item: item(3, "two")},
		}
		failed, err := db.ApplyChanges(ctx, changes, db.Now(), run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != 1 || failed[0].Change != changes[1] {
			t.Fatalf("failed = %+v, want only the duplicate username", failed)
		}
		byName, err := db.UsersByUsernames(ctx, []string{"one", "two", "taken", "nobody"})
		if err != nil {
			t.Fatal(err)
		}
		if len(byName) != 3 || byName["taken"].ID != existing.ID {
			t.Errorf("users by username: %v", byName)
		}
		byDir, err := db.UsersByDirectoryIDs(ctx, []string{"d1", "d2", "d3"})
		if err != nil {
			t.Fatal(err)
		}
		if len(byDir) != 2 || byDir["d1"].ID != good1.ID || byDir["d3"].ID != good2.ID {
			t.Errorf("users by directory id: %v", byDir)
		}
		items, total, err := db.ListRunItems(ctx, run.ID, "", 0, 10)
		if err != nil || total != 2 || items[0].Seq != 1 || items[1].Seq != 3 {
			t.Errorf("items %+v total %d err %v: the failed user's item must not be written", items, total, err)
		}
	})
}

func TestImportUserIdempotent(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		d := store.UserDetail{
			User: domain.User{Username: "dave", GivenName: "Dave", State: domain.UserActive, Source: domain.SourceImport},
			Holdings: store.Holdings{
				Credentials: []store.CredentialDetail{{
					Credential:   domain.Credential{Type: domain.CredentialCard, Serial: "C1", State: domain.CredentialActive},
					Certificates: []domain.Certificate{{Serial: "01", Issuer: "CN=CA", NotBefore: nb, NotAfter: nb.AddDate(2, 0, 0), State: domain.CertificateActive}},
				}},
				Roles: []store.RoleDetail{{RoleName: "Employee"}},
			},
		}
		for i, want := range []bool{true, false} {
			changed, err := db.ImportUser(ctx, d)
			if err != nil || changed != want {
				t.Fatalf("import %d: changed=%v err=%v, want changed=%v", i+1, changed, err, want)
			}
		}
		other := d
		other.Username = "eve"
		other.Roles = nil
		if _, err := db.ImportUser(ctx, other); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("importing dave's card for eve: %v, want a conflict", err)
		}
		if _, err := db.UserByUsername(ctx, "eve"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("the rejected record was partly written: %v", err)
		}
		got, err := db.UserByUsername(ctx, "dave")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Credentials) != 1 || len(got.Credentials[0].Certificates) != 1 || len(got.Roles) != 1 || got.Roles[0].RoleName != "Employee" {
			t.Errorf("dave: %+v", got)
		}
		users, total, err := db.SearchUsers(ctx, store.UserQuery{Text: "DAV", Limit: 10})
		if err != nil || total != 1 || users[0].Username != "dave" {
			t.Errorf("search: %v %d %v", users, total, err)
		}
		if _, total, _ := db.SearchUsers(ctx, store.UserQuery{Text: "%", Limit: 10}); total != 0 {
			t.Errorf("search for %% matched %d users: LIKE wildcards must be escaped", total)
		}
	})
}

func TestLDAPSettingsSave(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		s, err := db.LDAPSettings(ctx)
		if err != nil || s.Version != 0 || s.PageSize != 500 || s.Username != "uid" {
			t.Fatalf("defaults: %+v %v", s, err)
		}
		if err := db.SetThresholdOverride(ctx, true, "admin"); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("override before any settings: %v", err)
		}
		s.URL, s.BaseDN, s.BindPasswordEnc = "ldap://dir:389", "dc=example,dc=com", "v1:SEALED-SECRET"
		saved, err := db.SaveLDAPSettings(ctx, s, "admin")
		if err != nil || saved.Version != 1 {
			t.Fatalf("save: %+v %v", saved, err)
		}
		if _, err := db.SaveLDAPSettings(ctx, s, "other"); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Errorf("save from a stale version: %v, want a conflict", err)
		}
		saved.BindPasswordEnc = "v1:ANOTHER-SECRET"
		saved.PageSize = 100
		if saved, err = db.SaveLDAPSettings(ctx, saved, "admin"); err != nil || saved.Version != 2 {
			t.Fatalf("second save: %v", err)
		}
		events, _, err := db.ListAudit(ctx, 0, 10)
		if err != nil || len(events) != 2 {
			t.Fatalf("audit: %v %v", events, err)
		}
		for _, ev := range events {
			if strings.Contains(ev.Detail, "SECRET") || ev.Action != domain.AuditLDAPSave {
				t.Errorf("audit event leaks the password or is wrong: %+v", ev)
			}
		}
		if !strings.Contains(events[0].Detail, "bind password changed") || !strings.Contains(events[0].Detail, "page_size") {
			t.Errorf("audit detail %q", events[0].Detail)
		}

		if err := db.SetThresholdOverride(ctx, true, "admin"); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{true, false} {
			used, err := db.ConsumeThresholdOverride(ctx, "run-1")
			if err != nil || used != want {
				t.Errorf("consume %d: %v %v, want %v", i+1, used, err, want)
			}
		}
	})
}

func TestRunRecords(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		base := db.Now().Add(-time.Hour)
		mk := func(i int, status domain.RunStatus, dry bool) *domain.Run {
			at := base.Add(time.Duration(i) * time.Minute)
			r := &domain.Run{ID: store.NewID(), JobKey: domain.JobActive, Trigger: domain.TriggerSchedule, Status: domain.RunRunning,
				DryRun: dry, StartedAt: at, HeartbeatAt: at}
			if err := db.CreateRun(ctx, r, time.Minute); err != nil {
				t.Fatalf("create run %d: %v", i, err)
			}
			r.Status, r.Read = status, i
			fin := at.Add(time.Second)
			r.FinishedAt = &fin
			if err := db.FinishRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		ok := mk(1, domain.RunSucceeded, false)
		mk(2, domain.RunSucceeded, true)
		mk(3, domain.RunFailed, false)
		last, err := db.LastSuccessfulRun(ctx, domain.JobActive)
		if err != nil || last == nil || last.ID != ok.ID || last.Read != 1 {
			t.Errorf("last successful run: %+v %v, want the first (no dry run, no failure)", last, err)
		}
		runs, total, err := db.ListRuns(ctx, domain.JobActive, 0, 2)
		if err != nil || total != 3 || len(runs) != 2 || runs[0].Read != 3 {
			t.Errorf("list runs: %d %d %v", total, len(runs), err)
		}

		live := &domain.Run{ID: store.NewID(), JobKey: domain.JobInactive, Trigger: domain.TriggerManual, TriggeredBy: "alice",
			Status: domain.RunRunning, StartedAt: db.Now(), HeartbeatAt: db.Now(), Instance: "node-1"}
		if err := db.CreateRun(ctx, live, time.Minute); err != nil {
			t.Fatal(err)
		}
		again := &domain.Run{ID: store.NewID(), JobKey: domain.JobActive, Trigger: domain.TriggerCLI, Status: domain.RunRunning, StartedAt: db.Now(), HeartbeatAt: db.Now()}
		err = db.CreateRun(ctx, again, time.Minute)
		if domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(err.Error(), "node-1") || !strings.Contains(err.Error(), "alice") {
			t.Errorf("start beside a live run: %v", err)
		}

		uid := "user-1"
		items := []domain.RunItem{
			{RunID: ok.ID, Seq: 1, UserID: &uid, Username: "a", Outcome: domain.OutcomeUpdated},
			{RunID: ok.ID, Seq: 2, Username: "b", Outcome: domain.OutcomeError, Error: "bad"},
			{RunID: ok.ID, Seq: 3, Username: "c", Outcome: domain.OutcomeError, Error: "worse"},
		}
		if err := db.AddRunItems(ctx, items); err != nil {
			t.Fatal(err)
		}
		errs, total, err := db.ListRunItems(ctx, ok.ID, domain.OutcomeError, 1, 10)
		if err != nil || total != 2 || len(errs) != 1 || errs[0].Username != "c" {
			t.Errorf("error items page 2: %+v %d %v", errs, total, err)
		}
		byUser, total, err := db.RunItemsByUser(ctx, uid, 0, 10)
		if err != nil || total != 1 || byUser[0].Run.ID != ok.ID || byUser[0].Item.Outcome != domain.OutcomeUpdated {
			t.Errorf("items by user: %+v %d %v", byUser, total, err)
		}
	})
}

func TestLookupOddValues(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		names := []string{`a"b`, `c\d`, `e,f`, `{g}`, `NULL`, `h i`, `ümlaut`, `'q'`}
		var changes []*store.UserChange
		for _, n := range names {
			changes = append(changes, &store.UserChange{Create: newUser(n, "dir:"+n)})
		}
		if failed, err := db.ApplyChanges(ctx, changes, db.Now(), "run"); err != nil || len(failed) > 0 {
			t.Fatalf("create: %v %v", failed, err)
		}
		byName, err := db.UsersByUsernames(ctx, append(names, "absent"))
		if err != nil || len(byName) != len(names) {
			t.Fatalf("by username: %d found, %v", len(byName), err)
		}
		dirIDs := make([]string, len(names))
		for i, n := range names {
			dirIDs[i] = "dir:" + n
			if byName[n] == nil {
				t.Errorf("%q not found", n)
			}
		}
		byDir, err := db.UsersByDirectoryIDs(ctx, dirIDs)
		if err != nil || len(byDir) != len(names) {
			t.Errorf("by directory id: %d found, %v", len(byDir), err)
		}
	})
}
