package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/testenv"
)

// fakeDirectory serves fixed pages; its count can fail or wait.
type fakeDirectory struct {
	pages     [][]directory.Entry
	countErr  error
	countGate chan struct{} // when set, Count waits for it to close
}

func (f *fakeDirectory) Count(ctx context.Context, _ string) (int, error) {
	if f.countGate != nil {
		select {
		case <-f.countGate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	n := 0
	for _, p := range f.pages {
		n += len(p)
	}
	return n, f.countErr
}

func (f *fakeDirectory) Search(ctx context.Context, _ string, _ domain.AttributeMap, fn func([]directory.Entry) error) error {
	for _, p := range f.pages {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeDirectory) Close() error { return nil }

func people(names ...string) []directory.Entry {
	var out []directory.Entry
	for _, n := range names {
		dn := "uid=" + n + ",ou=people,dc=example,dc=com"
		out = append(out, directory.Entry{DN: dn, Person: domain.Person{DN: dn, DirectoryID: "id-" + n, Username: n, GivenName: "G" + n}})
	}
	return out
}

// TestActiveShrinkCheckWaitsForCount checks that the active job holds its
// changes back until the count that decides the shrink check arrives.
func TestActiveShrinkCheckWaitsForCount(t *testing.T) {
	ctx := context.Background()
	db := testenv.MustOpenDB(t, testenv.SQLiteURL(t))
	s := domain.DefaultLDAPSettings()
	s.URL, s.BaseDN = "ldap://fake", "dc=example,dc=com"
	if _, err := db.SaveLDAPSettings(ctx, s, "test"); err != nil {
		t.Fatal(err)
	}
	dir := &fakeDirectory{pages: [][]directory.Entry{people("a", "b"), people("c", "d")}}
	eng := engine.New(engine.Deps{DB: db, Logger: slog.New(slog.DiscardHandler),
		Dial: func(context.Context, domain.LDAPSettings, string) (engine.Source, error) { return dir, nil }})
	run := func() *domain.Run {
		t.Helper()
		r, err := eng.Run(ctx, domain.JobActive, engine.RunOptions{Trigger: domain.TriggerCLI})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	dir.countErr = errors.New("count broke")
	if r := run(); r.Status != domain.RunSucceeded || r.Created != 4 {
		t.Fatalf("first run, no shrink check to make: %s %s %+v", r.Status, r.Message, r.RunCounts)
	}

	dir.pages = [][]directory.Entry{people("a", "b"), people("c", "d", "e")}
	r := run()
	if r.Status != domain.RunSafetyStop || r.Created != 0 {
		t.Fatalf("count failed with a shrink check to make: %s %s %+v", r.Status, r.Message, r.RunCounts)
	}
	if _, err := db.UserByUsername(ctx, "e"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("a run stopped by its shrink check created a user: %v", err)
	}

	dir.countErr = nil
	dir.countGate = make(chan struct{})
	createdBeforeCount := -1
	eng2 := engine.New(engine.Deps{DB: db, Logger: slog.New(slog.DiscardHandler),
		Dial: func(context.Context, domain.LDAPSettings, string) (engine.Source, error) { return dir, nil }})
	r, err := eng2.Run(ctx, domain.JobActive, engine.RunOptions{Trigger: domain.TriggerCLI, Progress: func(p domain.Run) {
		if p.Read == 5 && createdBeforeCount < 0 {
			// Every page is read and the count has not come: release it.
			createdBeforeCount = p.Created
			close(dir.countGate)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != domain.RunSucceeded || r.Created != 1 || r.ExpectedTotal != 5 || createdBeforeCount != 0 {
		t.Fatalf("gated run: %s %s %+v expected %d, created before the count: %d", r.Status, r.Message, r.RunCounts, r.ExpectedTotal, createdBeforeCount)
	}
}
