package testenv

import (
	"crypto/rand"
	"testing"

	"idm/internal/secret"
)

// SecretBox returns a box with a fresh random key, as the server's secret
// key would seal the bind password and the webhooks' signing secrets.
func SecretBox(tb testing.TB) *secret.Box {
	tb.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.New(key)
	if err != nil {
		tb.Fatal(err)
	}
	return box
}
