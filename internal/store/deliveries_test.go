package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// TestPruneDeliveries: a webhook's delivery log keeps its newest attempts,
// up to the number asked, none older than the cut-off; another webhook's
// log is left alone.
func TestPruneDeliveries(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		hook, other := mustWebhook(t, db, "a"), mustWebhook(t, db, "b")
		// Whole microseconds: PostgreSQL keeps no finer.
		now := db.Now().Truncate(time.Microsecond)
		for i := range 10 {
			for _, w := range []*domain.Webhook{hook, other} {
				// Attempt i was i days ago; attempts 0 and 1 at the same
				// moment, 1 the newer by id.
				at := now.Add(-time.Duration(max(i, 1)) * 24 * time.Hour)
				d := &domain.Delivery{ID: fmt.Sprintf("%s-%d", w.Name, i), NoticeID: fmt.Sprintf("n%d", i), WebhookID: w.ID,
					Event: domain.EventTest, Attempt: 1, At: at, Outcome: domain.DeliveryTestOK}
				if err := db.RecordDelivery(ctx, d, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		steps := []struct {
			name    string
			keep    int
			before  time.Time
			removed int64
			left    []string // notice ids, newest first
		}{
			{"NothingToPrune", 20, now.Add(-30 * 24 * time.Hour), 0, []string{"n1", "n0", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"}},
			{"OlderThanTheCutOff", 20, now.Add(-7*24*time.Hour - time.Second), 2, []string{"n1", "n0", "n2", "n3", "n4", "n5", "n6", "n7"}},
			{"BeyondTheNewest", 3, now.Add(-30 * 24 * time.Hour), 5, []string{"n1", "n0", "n2"}},
			{"SameMomentByID", 1, now.Add(-30 * 24 * time.Hour), 2, []string{"n1"}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				removed, err := db.PruneDeliveries(ctx, hook.ID, st.keep, st.before)
				if err != nil || removed != st.removed {
					t.Fatalf("PruneDeliveries = %d, %v; want %d removed", removed, err, st.removed)
				}
				ds, err := db.ListDeliveries(ctx, hook.ID, 100)
				if err != nil {
					t.Fatal(err)
				}
				var left []string
				for _, d := range ds {
					left = append(left, d.NoticeID)
				}
				if fmt.Sprint(left) != fmt.Sprint(st.left) {
					t.Errorf("left %v, want %v", left, st.left)
				}
			})
		}
		if ds, err := db.ListDeliveries(ctx, other.ID, 100); err != nil || len(ds) != 10 {
			t.Errorf("the other webhook's log: %d attempts (%v), want all 10", len(ds), err)
		}
	})
}

func mustWebhook(t *testing.T, db *store.DB, name string) *domain.Webhook {
	t.Helper()
	w := &domain.Webhook{Name: name, URL: "https://hooks.example.com/" + name, SecretEnc: "sealed", Enabled: true, OnRunFailed: true}
	if err := db.CreateWebhook(context.Background(), w, "test"); err != nil {
		t.Fatal(err)
	}
	return w
}
