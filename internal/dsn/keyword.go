package dsn

import "strings"

// pair is one keyword=value of a keyword/value string; start and end are the
// raw value's byte range (inside the quotes, if quoted), value is it
// unescaped.
type pair struct {
	key        string
	start, end int
	value      string
}

// keywordPairs reads s as libpq and pgx read a keyword/value string
// (keyword = value, values quoted with ' or not, "\" escaping the next
// byte), tolerating what they refuse: a word without "=" is skipped, an
// unterminated quote runs to the end.
func keywordPairs(s string) []pair {
	var pairs []pair
	i := 0
	for {
		i = skipSpace(s, i)
		if i >= len(s) {
			return pairs
		}
		k := i
		for i < len(s) && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[k:i]
		if i = skipSpace(s, i); i >= len(s) || s[i] != '=' {
			continue
		}
		i = skipSpace(s, i+1)
		p := pair{key: key}
		if i < len(s) && s[i] == '\'' {
			p.start = i + 1
			p.end = scanValue(s, p.start, func(c byte) bool { return c == '\'' })
			i = p.end + 1
		} else {
			p.start = i
			p.end = scanValue(s, i, isSpace)
			i = p.end
		}
		p.value = unescape(s[p.start:p.end])
		pairs = append(pairs, p)
	}
}

// scanValue returns where the value starting at i ends: at the first byte
// for which stop is true that no "\" escapes, or at the end of s.
func scanValue(s string, i int, stop func(byte) bool) int {
	for i < len(s) && !stop(s[i]) {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	return min(i, len(s))
}

// unescape drops each "\" and keeps the byte after it.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			if i == len(s) {
				break
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// isSpace is the whitespace libpq and pgx separate pairs with.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
