package web_test

import (
	"context"
	"testing"
	"time"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/internal/store"
)

// finishedRun stores a command-line run of key that started a minute ago
// and ended with status.
func (e *testEnv) finishedRun(t *testing.T, key domain.JobKey, status domain.RunStatus) *domain.Run {
	t.Helper()
	ctx := context.Background()
	started := time.Now().UTC().Add(-time.Minute)
	run := &domain.Run{ID: store.NewID(), JobKey: key, Trigger: domain.TriggerCLI, TriggeredBy: "test",
		Status: domain.RunRunning, StartedAt: started, HeartbeatAt: started}
	if err := e.db.CreateRun(ctx, run, time.Minute); err != nil {
		t.Fatal(err)
	}
	fin := started.Add(time.Second)
	run.Status, run.FinishedAt = status, &fin
	if err := e.db.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	return run
}

// importedUser stores an active imported user name and returns it as stored.
func (e *testEnv) importedUser(t *testing.T, name string) *store.UserDetail {
	t.Helper()
	ctx := context.Background()
	if _, err := e.db.ImportUser(ctx, store.UserDetail{User: domain.User{Username: name, State: domain.UserActive, Source: domain.SourceImport}}); err != nil {
		t.Fatal(err)
	}
	u, err := e.db.UserByUsername(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// storedWebhook stores an enabled webhook told of failed runs, whose
// receiver's port is closed (a Send test fails at once).
func (e *testEnv) storedWebhook(t *testing.T) *domain.Webhook {
	t.Helper()
	sealed, err := e.box.Seal("a signing secret of the receiver")
	if err != nil {
		t.Fatal(err)
	}
	w := &domain.Webhook{Name: "On call", URL: "http://127.0.0.1:1/idm", SecretEnc: sealed, OnRunFailed: true, Enabled: true}
	if err := e.db.CreateWebhook(context.Background(), w, "test"); err != nil {
		t.Fatal(err)
	}
	return w
}

// storedToken stores an API token of account named name, for 30 days; it
// returns the token and its record.
func (e *testEnv) storedAPIToken(t *testing.T, account, name string) (string, *domain.APIToken) {
	t.Helper()
	plain, tok, err := auth.NewTokens(e.db, e.db.Now).Create(context.Background(), account, name, "30d", "test")
	if err != nil {
		t.Fatalf("token %s of %s: %v", name, account, err)
	}
	return plain, tok
}
