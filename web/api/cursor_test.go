package api

import (
	"strings"
	"testing"
	"unicode/utf8"

	"idm/internal/domain"
)

func TestCursor(t *testing.T) {
	ok := makeCursor("run-1", "created", 42)
	tests := []struct {
		name, cursor, run, outcome string
		after                      int
		msg                        string // "" for OK
	}{
		{"OKNone", "", "run-1", "", 0, ""},
		{"OKRoundTrip", ok, "run-1", "created", 42, ""},
		{"ErrOtherRun", ok, "run-2", "created", 0, "another listing"},
		{"ErrOtherOutcome", ok, "run-1", "", 0, "another listing"},
		{"ErrNotBase64", "%%%", "run-1", "", 0, "not a cursor"},
		{"ErrNotJSON", "bm90IGpzb24", "run-1", "", 0, "not a cursor"},
		{"ErrNegative", makeCursor("run-1", "", -1), "run-1", "", 0, "not a cursor"},
		{"ErrHugeNumber", "eyJyIjoicnVuLTEiLCJhIjoxZTMwMH0", "run-1", "", 0, "not a cursor"}, // {"r":"run-1","a":1e300}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after, err := readCursor(tc.cursor, tc.run, tc.outcome)
			if tc.msg == "" {
				if err != nil || after != tc.after {
					t.Fatalf("got %d, %v; want %d", after, err, tc.after)
				}
				return
			}
			fe, isFields := err.(domain.FieldErrors)
			if !isFields || !fe.Has("cursor") || !strings.Contains(fe.Text(), tc.msg) {
				t.Fatalf("error %v, want %q at cursor", err, tc.msg)
			}
		})
	}
}

// FuzzCursor: whatever a client sends as a cursor, reading it gives a seq
// of at least 0 or a refusal at the field, never a panic; and every cursor
// the API makes reads back as it was made.
func FuzzCursor(f *testing.F) {
	f.Add(makeCursor("r", "error", 7), "r", "error", 7)
	f.Add("", "r", "", 0)
	f.Add("eyJhIjotNX0", "", "", 3)
	f.Fuzz(func(t *testing.T, c, run, outcome string, after int) {
		n, err := readCursor(c, run, outcome)
		if err != nil && domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("%q: %v", c, err)
		}
		if err == nil && n < 0 {
			t.Fatalf("%q read as %d", c, n)
		}
		// Run ids and outcomes are checked text before a cursor is read
		// (domain.CheckRunID, the outcome enum); JSON would mend other text.
		if after >= 0 && utf8.ValidString(run) && utf8.ValidString(outcome) {
			if got, err := readCursor(makeCursor(run, outcome, after), run, outcome); err != nil || got != after {
				t.Fatalf("round trip of %d: %d %v", after, got, err)
			}
		}
	})
}
