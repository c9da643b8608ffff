package domain

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestControlAt(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int
	}{
		{"", -1},
		{"plain text", -1},
		{"tab\there", 3},
		{"\x00", 0},
		{"line\nbreak", 4},
		{"del\x7f", 3},
		{"space~ok", -1},
		{"C1 \u0085 next line", 3},
		{"C1 \u009f last", 3},
		{"\u00a0 no-break space is no control", -1},
		{"é and \u0080", 7},
		{"Ω\u00c2 (Â) is a letter", -1},
		{"\u2028 line separator is no control (Zl)", -1},
		{"emoji 🙂 then \x1b", 16},
	} {
		if got := controlAt(tc.value); got != tc.want {
			t.Errorf("controlAt(%q) = %d, want %d", tc.value, got, tc.want)
		}
	}
}

// FuzzControlAt holds controlAt to what it replaces: the first rune for
// which unicode.IsControl holds, in valid UTF-8.
func FuzzControlAt(f *testing.F) {
	for _, s := range []string{"", "abc", "a\tb", "\u0085", "é\u009f", "\u00a0", "\xc2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		if got, want := controlAt(s), strings.IndexFunc(s, unicode.IsControl); got != want {
			t.Fatalf("controlAt(%q) = %d, strings.IndexFunc(unicode.IsControl) = %d", s, got, want)
		}
	})
}

// lineTextRule is lineTextProblem's rule without its ASCII shortcut.
func lineTextRule(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0) && strings.IndexFunc(s, unicode.IsControl) < 0
}

func TestLineTextProblem(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"", true},
		{"Alice Smith <alice@example.org> ~!", true},
		{"Zoë Ørsted", true},
		{"tab\there", false},
		{"del\x7f", false},
		{"nul\x00", false},
		{"C1 \u0085", false},
		{"not UTF-8 \xff", false},
		{"\u00a0 no-break space", true},
	} {
		if got := lineTextProblem(tc.value) == ""; got != tc.ok {
			t.Errorf("lineTextProblem(%q) = %q, want ok %v", tc.value, lineTextProblem(tc.value), tc.ok)
		}
	}
}

// FuzzLineText holds lineTextProblem and lengthProblem, with their
// shortcuts for printable ASCII and short values, to the rules they state:
// valid UTF-8 with no NUL or control character; at most max characters.
func FuzzLineText(f *testing.F) {
	for _, s := range []string{"", "abc", "a\tb", "\u0085", "é\u009f", "\xff", "~\x7f", "ΩΩΩ"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if got, want := lineTextProblem(s) == "", lineTextRule(s); got != want {
			t.Fatalf("lineTextProblem(%q) = %q, want ok %v", s, lineTextProblem(s), want)
		}
		if got, want := lengthProblem(s, max) == "", utf8.RuneCountInString(s) <= max; got != want {
			t.Fatalf("lengthProblem(%q, %d) = %q, want ok %v", s, max, lengthProblem(s, max), want)
		}
	})
}
