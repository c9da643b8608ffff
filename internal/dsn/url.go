package dsn

import (
	"strconv"
	"strings"
)

// userinfoSpans finds the password of a URL's userinfo (scheme://user:password@host…).
func userinfoSpans(dsn string) []span {
	i := strings.Index(dsn, "://")
	if i < 0 {
		return nil
	}
	off := i + len("://")
	rest := dsn[off:]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		slash = len(rest)
	}
	// The userinfo ends at an "@" before the path: pgx and libpq take the
	// first, net/url the last; up to the last covers both.
	at := strings.LastIndexByte(rest[:slash], '@')
	if at < 0 {
		// A password holding a raw "/" (user:pa/ss@host): the text before the
		// first "/" is no host list, and an "@" follows.
		at = strings.LastIndexByte(rest, '@')
		if at < 0 || strings.Contains(rest[:slash], "[") || isHostList(rest[:slash]) {
			return nil
		}
	}
	colon := strings.IndexByte(rest[:at], ':')
	if colon < 0 || colon+1 == at {
		return nil
	}
	raw := rest[colon+1 : at]
	return []span{{off + colon + 1, off + at, strings.Trim(percentDecode(raw), " ")}}
}

// isHostList reports whether s reads as host[:port][,host[:port]…] with
// numeric ports.
func isHostList(s string) bool {
	for _, hp := range strings.Split(s, ",") {
		if _, port, ok := strings.Cut(hp, ":"); ok && strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	return true
}

// querySpans finds the values of secret parameters in a URL's query. Where
// the query starts depends on the reading: net/url takes the first "?",
// pgx the first after the userinfo; each is read.
func querySpans(dsn string) []span {
	var spans []span
	rest, off := dsn, 0
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest, off = dsn[i+3:], i+3
	}
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		slash = len(rest)
	}
	starts := map[int]bool{}
	for _, from := range []int{0, strings.IndexByte(rest[:slash], '@') + 1, strings.LastIndexByte(rest[:slash], '@') + 1} {
		if q := strings.IndexByte(rest[from:], '?'); q >= 0 && !starts[from+q] {
			starts[from+q] = true
			spans = append(spans, paramSpans(rest[from+q+1:], off+from+q+1)...)
		}
	}
	return spans
}

// paramSpans reads query (at offset off in the whole string) as
// "&"-separated key=value pairs and returns the values of secret keys.
func paramSpans(query string, off int) []span {
	var spans []span
	for pos := 0; pos <= len(query); {
		end := strings.IndexByte(query[pos:], '&')
		if end < 0 {
			end = len(query) - pos
		}
		pair := query[pos : pos+end]
		if key, value, ok := strings.Cut(pair, "="); ok && value != "" && isSecretKey(strings.Trim(percentDecode(key), " ")) {
			start := off + pos + len(key) + 1
			spans = append(spans, span{start, start + len(value), strings.Trim(percentDecode(value), " ")})
		}
		pos += end + 1
	}
	return spans
}

func isSecretKey(key string) bool { return secretKeys[strings.ToLower(key)] }

// percentDecode decodes %XX escapes; a malformed escape stays as written.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
