package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// employees are n holders named prefix-0 …, all with the roles Employee
// and Badge holder.
func employees(prefix string, n int) []store.UserDetail {
	out := make([]store.UserDetail, n)
	for i := range out {
		out[i] = holder(fmt.Sprintf("%s-%d", prefix, i))
		out[i].Roles = []store.RoleDetail{{RoleName: "Employee"}, {RoleName: "Badge holder"}}
	}
	return out
}

// waitFor waits for ch to close, or fails the import's transaction.
func waitFor(ch <-chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-time.After(20 * time.Second):
		return errors.New("timed out waiting for " + what)
	}
}

// TestImporterSideBySide: on PostgreSQL two independent batches are
// written side by side (the second's transaction reaches its commit while
// the first is still open), and each batch that depends on the one before
// it (a user it updates, a role it creates) sees what that one wrote.
func TestImporterSideBySide(t *testing.T) {
	ctx := context.Background()
	db := testenv.MustOpenDB(t, testenv.PostgresURL(t))
	third := make(chan struct{})
	defer store.SetImportHook(func(stage string, records []store.UserDetail) error {
		switch records[0].Username {
		case "b-0": // the second batch waits until the third has caught up with it
			if err := waitFor(third, "the third batch to run alongside the second"); err != nil {
				t.Error(err)
			}
		case "c-0":
			close(third)
		}
		return nil
	})()
	im := db.NewImporter(ctx)
	defer im.Close()
	a := im.Submit(employees("a", 3)) // creates the roles: the next one waits for it
	b := im.Submit(employees("b", 3))
	c := im.Submit(employees("c", 3)) // independent of b: alongside it
	changed := employees("a", 1)      // depends on a, which has ended
	changed[0].GivenName = "Changed"
	for _, batch := range []*store.ImportBatch{a, b, c, im.Submit(changed)} {
		res, err := batch.Wait()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil || !r.Changed {
				t.Fatalf("results %+v: want every record written", res)
			}
		}
	}
	for _, name := range []string{"a-0", "a-2", "b-1", "c-2"} {
		wantHolder(t, db, name)
	}
	if u, err := db.UserByUsername(ctx, "a-0"); err != nil || u.GivenName != "Changed" {
		t.Errorf("a-0 after the batch that updated it: %+v, %v", u, err)
	}
}

// TestImporterThreeSideBySide: three independent batches (more than
// `idm import` keeps with the store, store.ImportSideBySide) are open at
// once, and when the first then fails the two after it, which wait at
// their commits, are rolled back.
func TestImporterThreeSideBySide(t *testing.T) {
	ctx := context.Background()
	db := testenv.MustOpenDB(t, testenv.PostgresURL(t))
	im := db.NewImporter(ctx)
	if _, err := im.Submit(employees("seed", 1)).Wait(); err != nil { // the roles stored
		t.Fatal(err)
	}
	inside := map[string]chan struct{}{"b-0": make(chan struct{}), "c-0": make(chan struct{})}
	fault := errors.New("injected fault")
	defer store.SetImportHook(func(stage string, records []store.UserDetail) error {
		switch name := records[0].Username; {
		case name == "a-0" && stage == "batch":
			// a fails only once b and c are inside their transactions too.
			for _, n := range []string{"b-0", "c-0"} {
				if err := waitFor(inside[n], n+"'s batch alongside a's"); err != nil {
					t.Error(err)
				}
			}
			return fault
		case name == "a-0":
			return fault
		case stage == "batch" && inside[name] != nil:
			close(inside[name])
		}
		return nil
	})()
	a, b, c := im.Submit(employees("a", 2)), im.Submit(employees("b", 2)), im.Submit(employees("c", 2))
	if _, err := a.Wait(); !errors.Is(err, fault) {
		t.Fatalf("first batch: %v, want the injected fault", err)
	}
	for name, batch := range map[string]*store.ImportBatch{"b": b, "c": c} {
		if res, err := batch.Wait(); err == nil || len(res) != 0 {
			t.Errorf("batch %s: %+v, %v; want it stopped with nothing written", name, res, err)
		}
	}
	im.Close()
	for _, name := range []string{"a-0", "b-0", "c-1"} {
		if _, err := db.UserByUsername(ctx, name); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("%s: %v, want nothing written", name, err)
		}
	}
}

// TestImporterCommitsInOrder: a batch written alongside one that then fails
// is rolled back, so that a fault still leaves nothing written after the
// batch at fault (what `idm import` promises: "nothing of it or of the
// lines after it was written").
func TestImporterCommitsInOrder(t *testing.T) {
	ctx := context.Background()
	db := testenv.MustOpenDB(t, testenv.PostgresURL(t))
	im := db.NewImporter(ctx)
	if _, err := im.Submit(employees("seed", 1)).Wait(); err != nil { // the roles stored
		t.Fatal(err)
	}
	secondWaits := make(chan struct{})
	fault := errors.New("injected fault")
	defer store.SetImportHook(func(stage string, records []store.UserDetail) error {
		switch {
		case records[0].Username == "b-0" && stage == "batch":
			close(secondWaits) // b now waits for a before its commit
		case records[0].Username == "a-0" && stage == "batch":
			if err := waitFor(secondWaits, "the second batch to reach its commit"); err != nil {
				t.Error(err)
			}
			return fault
		case records[0].Username == "a-0":
			return fault // and record by record too: a fault, not a refused record
		}
		return nil
	})()
	a, b := im.Submit(employees("a", 3)), im.Submit(employees("b", 3))
	if _, err := a.Wait(); !errors.Is(err, fault) {
		t.Fatalf("first batch: %v, want the injected fault", err)
	}
	if res, err := b.Wait(); err == nil || len(res) != 0 {
		t.Fatalf("second batch: %+v, %v; want it stopped with nothing written", res, err)
	}
	im.Close()
	for _, name := range []string{"a-0", "b-0", "b-2"} {
		if _, err := db.UserByUsername(ctx, name); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("%s: %v, want nothing written", name, err)
		}
	}
}
