// Package dsn hides the secrets of a database connection string, for logs,
// errors and command output. It reads both forms PostgreSQL drivers accept,
// the URL (postgres://user:password@host/db?password=…) and keyword/value
// (host=… password='…'), and SQLite URLs, and masks every value that is or
// may be a secret: the userinfo password, and the parameters password,
// sslpassword and sslkey (a key file's path, or with sslinline the key
// itself; masking the path costs little), whatever their case or escaping.
//
// Redact changes only the bytes of secret values, so the rest of the string
// (host, port, database, user, other parameters) stays as written, for the
// person reading the log. Where a malformed string is ambiguous, every
// reading is masked: pgx and libpq end the userinfo at its first "@", Go's
// net/url at its last, and a password holding a raw "/" still counts.
package dsn

import (
	"errors"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Mask replaces each secret value.
const Mask = "xxxxx"

// secretKeys are the parameters whose values are masked, lower case.
var secretKeys = map[string]bool{"password": true, "sslpassword": true, "sslkey": true}

// span is a secret value's byte range in the string; decoded is the value
// as a driver reads it (percent-decoded or unescaped).
type span struct {
	start, end int
	decoded    string
}

// Redact returns dsn with every secret value replaced by Mask.
func Redact(dsn string) string {
	spans := merge(secretSpans(dsn))
	var b strings.Builder
	last := 0
	for _, s := range spans {
		b.WriteString(dsn[last:s.start])
		b.WriteString(Mask)
		last = s.end
	}
	b.WriteString(dsn[last:])
	return b.String()
}

// minScrubbed is the shortest secret ScrubError looks for in a message: a
// shorter one would mask letters of ordinary words.
const minScrubbed = 4

// ScrubError returns err with dsn's secrets masked in its message: the whole
// dsn is replaced by its redaction, each secret (as written and as decoded)
// by Mask. errors.Is and errors.As still reach err.
//
// pgx quotes a connection string it cannot parse, masked on a best-effort
// basis (not sslkey; "password='it\'s'" leaves "s'"): that quote is
// replaced by Redact's.
func ScrubError(dsn string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	scrubbed := msg
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		scrubbed = strings.ReplaceAll(scrubbed, pce.Error(), parseError(pce))
	}
	scrubbed = strings.ReplaceAll(scrubbed, dsn, Redact(dsn))
	for _, s := range secrets(dsn) {
		scrubbed = strings.ReplaceAll(scrubbed, s, Mask)
	}
	if scrubbed == msg {
		return err
	}
	return &scrubbedError{msg: scrubbed, err: err}
}

// parseError is pgx's message for e with the connection string redacted by
// Redact. pgx writes "cannot parse `STRING`: REASON" and, when it has a
// cause, " (CAUSE)"; REASON is one of its fixed phrases, without a "`".
func parseError(e *pgconn.ParseConfigError) string {
	full, cause := e.Error(), ""
	if inner := e.Unwrap(); inner != nil {
		cause = " (" + inner.Error() + ")"
	}
	head := strings.TrimSuffix(full, cause)
	i := strings.LastIndex(head, "`: ")
	if !strings.HasPrefix(head, "cannot parse `") || i < 0 {
		return "cannot parse the connection string " + Redact(e.ConnString)
	}
	return "cannot parse `" + Redact(e.ConnString) + head[i:] + cause
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// ErrKeywordValue refuses a keyword/value connection string where only URLs
// are accepted.
var ErrKeywordValue = errors.New("a keyword/value connection string (host=… dbname=…) is not supported: use postgres://USER@HOST/DB?… and percent-encode special characters")

// IsKeywordValue reports whether s reads as a PostgreSQL keyword/value
// connection string (at least one known keyword with "="), rather than a
// URL or a file name.
func IsKeywordValue(s string) bool {
	if strings.Contains(s, "://") {
		return false
	}
	for _, p := range keywordPairs(s) {
		if knownKeywords[strings.ToLower(p.key)] {
			return true
		}
	}
	return false
}

// knownKeywords are libpq's connection keywords (lower case).
var knownKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true, "passfile": true,
	"connect_timeout": true, "options": true, "application_name": true, "sslmode": true, "sslcert": true, "sslkey": true,
	"sslpassword": true, "sslrootcert": true, "sslcrl": true, "sslsni": true, "service": true, "target_session_attrs": true,
}

// secrets lists the secret values of dsn as written and as decoded, longest
// first (so that a secret holding another is masked whole), without those
// too short to look for.
func secrets(dsn string) []string {
	seen := map[string]bool{}
	var list []string
	for _, s := range secretSpans(dsn) {
		for _, v := range []string{dsn[s.start:s.end], s.decoded} {
			if len(v) >= minScrubbed && !seen[v] {
				seen[v] = true
				list = append(list, v)
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return len(list[i]) > len(list[j]) })
	return list
}

// secretSpans finds every secret value of dsn under each reading.
func secretSpans(dsn string) []span {
	spans := userinfoSpans(dsn)
	spans = append(spans, querySpans(dsn)...)
	for _, p := range keywordPairs(dsn) {
		if isSecretKey(p.key) && p.end > p.start {
			spans = append(spans, span{p.start, p.end, p.value})
		}
	}
	return spans
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []span) []span {
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}
