package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/internal/testenv"
)

// changes is the JSON of a run item's changes, as the engine writes it.
func changes(t *testing.T, c ...domain.FieldChange) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunItemsFilteredAndCounted(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.MustOpenDB(t, url)
		now := db.Now()
		run := &domain.Run{ID: store.NewID(), JobKey: domain.JobInactive, Trigger: domain.TriggerManual, Status: domain.RunRunning, StartedAt: now, HeartbeatAt: now}
		if err := db.CreateRun(ctx, run, time.Minute); err != nil {
			t.Fatal(err)
		}
		card := domain.FieldChange{Field: domain.CredentialChangeField(domain.CredentialCard, "C-1"), Before: "active", After: "inactive"}
		temp := domain.FieldChange{Field: domain.CredentialChangeField(domain.CredentialTemporaryCard, "T-1"), Before: "active", After: "locked"}
		cardCert := domain.FieldChange{Field: domain.CertificateChangeField("7", domain.CredentialCard, "C-1"), Before: "active", After: "on_hold"}
		tempCert := domain.FieldChange{Field: domain.CertificateChangeField("8", domain.CredentialTemporaryCard, "T-1"), Before: "active", After: "revoked"}
		state := domain.FieldChange{Field: "state", Before: "active", After: "inactive"}
		items := []domain.RunItem{
			{RunID: run.ID, Seq: 1, Username: "Dave_1", Outcome: domain.OutcomeDeactivated, Changes: changes(t, state, card, cardCert, cardCert, temp, tempCert)},
			{RunID: run.ID, Seq: 2, Username: "erin", Outcome: domain.OutcomeDeactivated, Changes: changes(t, state, card, cardCert)},
			{RunID: run.ID, Seq: 3, Username: "davey", Outcome: domain.OutcomeCreated, Changes: changes(t, domain.FieldChange{Field: "state", After: "inactive"})},
			// Not a deactivation: not counted, whatever its text.
			{RunID: run.ID, Seq: 4, Username: "frank", Outcome: domain.OutcomeError, Changes: changes(t, card), Error: "boom"},
		}
		if err := db.AddRunItems(ctx, items); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			filter store.RunItemFilter
			want   []int
		}{
			{"All", store.RunItemFilter{}, []int{1, 2, 3, 4}},
			{"Outcome", store.RunItemFilter{Outcome: domain.OutcomeDeactivated}, []int{1, 2}},
			{"UsernameAnyCase", store.RunItemFilter{Username: "DAVE"}, []int{1, 3}},
			{"UsernameUnderscoreIsNoWildcard", store.RunItemFilter{Username: "e_1"}, []int{1}},
			{"Both", store.RunItemFilter{Outcome: domain.OutcomeCreated, Username: "dav"}, []int{3}},
			{"Nothing", store.RunItemFilter{Username: "zed"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := db.FindRunItems(ctx, run.ID, tc.filter, 0, 10)
				if err != nil {
					t.Fatal(err)
				}
				var seqs []int
				for _, it := range got {
					seqs = append(seqs, it.Seq)
				}
				if total != len(tc.want) || len(seqs) != len(tc.want) || len(seqs) > 0 && seqs[0] != tc.want[0] || len(seqs) > 1 && seqs[len(seqs)-1] != tc.want[len(tc.want)-1] {
					t.Errorf("items %v (total %d), want %v", seqs, total, tc.want)
				}
			})
		}
		t.Run("CredentialChangesPerType", func(t *testing.T) {
			got, err := db.RunCredentialChanges(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := map[domain.CredentialType][2]int{domain.CredentialCard: {2, 3}, domain.CredentialTemporaryCard: {1, 1}}
			if len(got) != len(domain.CredentialTypes) {
				t.Fatalf("%d types, want %d", len(got), len(domain.CredentialTypes))
			}
			for _, c := range got {
				if w := want[c.Type]; c.Credentials != w[0] || c.Certificates != w[1] {
					t.Errorf("%s: %d credentials, %d certificates; want %d, %d", c.Type, c.Credentials, c.Certificates, w[0], w[1])
				}
			}
		})
	})
}
