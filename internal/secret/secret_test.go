package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	box := mustBox(t)
	for _, tc := range []struct{ name, plain string }{
		{"Empty", ""}, {"ASCII", "s3cret!"}, {"Unicode", "pässwörd ✓"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := box.Seal(tc.plain)
			if err != nil {
				t.Fatal(err)
			}
			if tc.plain != "" && strings.Contains(sealed, tc.plain) {
				t.Fatalf("sealed value contains the plain text: %q", sealed)
			}
			got, err := box.Open(sealed)
			if err != nil || got != tc.plain {
				t.Fatalf("Open = %q, %v; want %q", got, err, tc.plain)
			}
		})
	}
	t.Run("ErrWrongKey", func(t *testing.T) {
		sealed, _ := box.Seal("x")
		other := mustBox(t)
		if _, err := other.Open(sealed); err == nil {
			t.Fatal("a box with another key opened the value")
		}
	})
	t.Run("ErrDamaged", func(t *testing.T) {
		if _, err := box.Open("v1:AAAA"); err == nil {
			t.Fatal("damaged value opened")
		}
	})
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != 32 {
		t.Fatalf("create: %v %v %d", err, created, len(k1))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || string(k1) != string(k2) {
		t.Fatalf("reload: %v %v same=%v", err, created, string(k1) == string(k2))
	}
}

func mustBox(t *testing.T) *Box {
	t.Helper()
	key, _, err := LoadOrCreateKeyFile(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
