package dsn_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"idm/internal/dsn"
)

// conn is a connection string's parts, written out in URL or keyword/value
// form as a person (or a deployment tool) would, escaping what the form
// requires.
type conn struct {
	keyword                         bool
	user, host, db                  string
	password, sslPassword, sslKey   string
	extraKey, extraValue            string // one more parameter, secret or not
	extraIsSecret, hasExtraKeyValue bool
}

func (c conn) secrets() []string {
	s := []string{c.password, c.sslPassword, c.sslKey}
	if c.extraIsSecret {
		s = append(s, c.extraValue)
	}
	return s
}

// withOtherSecrets is c with its secret values replaced by others of no
// special bytes.
func (c conn) withOtherSecrets() conn {
	c.password, c.sslPassword, c.sslKey = "Pw1other", "Pw2other", "Pw3other"
	if c.extraIsSecret {
		c.extraValue = "Pw4other"
	}
	return c
}

func (c conn) String() string {
	params := [][2]string{{"sslmode", "disable"}, {"sslpassword", c.sslPassword}, {"sslkey", c.sslKey}}
	if c.hasExtraKeyValue {
		params = append(params, [2]string{c.extraKey, c.extraValue})
	}
	if c.keyword {
		s := fmt.Sprintf("host=%s user=%s password=%s dbname=%s", c.host, quote(c.user), quote(c.password), quote(c.db))
		for _, p := range params {
			s += " " + p[0] + "=" + quote(p[1])
		}
		return s
	}
	s := "postgres://" + escape(c.user) + ":" + escape(c.password) + "@" + c.host + "/" + escape(c.db) + "?"
	for i, p := range params {
		if i > 0 {
			s += "&"
		}
		s += escape(p[0]) + "=" + escape(p[1])
	}
	return s
}

// quote writes a keyword/value value: in quotes, "'" and "\" escaped.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// escape percent-encodes every byte but the unreserved ones.
func escape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// only keeps the bytes of s that keep is true for (a host name, a keyword).
func only(s string, keep func(rune) bool) string {
	return strings.Map(func(r rune) rune {
		if keep(r) {
			return r
		}
		return -1
	}, s)
}

func hostByte(r rune) bool {
	return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.' || r == '-'
}

func keywordByte(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_' }

// FuzzRedactDSN: whatever a connection string's secrets hold, and whatever
// its other parts hold, no secret value is left in the redaction, nor in a
// driver's error about the string after ScrubError. A secret that also
// stands in a part that is not secret (a user named like the password)
// may show there: it shows the same with other secret values.
func FuzzRedactDSN(f *testing.F) {
	f.Add(false, "idm", "db.example", "idm", "s3cret", "ssl-pass", "/etc/idm/key.pem", "application_name", "idm")
	f.Add(true, "idm", "db.example", "idm", "it's a secret", `back\slash`, "-----BEGIN PRIVATE KEY-----", "PassWord", "another")
	f.Add(false, "x?password=", "h", "d&password=", "p@ss/w:rd?#", "a b", "%zz", "sslpassword", "v=1&w")
	f.Add(true, "u password=", "h", "'", "' password=x", "\\", "\n", "sslkey", "'")
	f.Fuzz(func(t *testing.T, keyword bool, user, host, db, pw, sslPW, sslKey, extraKey, extraValue string) {
		c := conn{keyword: keyword, user: user, host: only(host, hostByte), db: db,
			password: pw, sslPassword: sslPW, sslKey: sslKey, extraKey: only(extraKey, keywordByte), extraValue: extraValue}
		c.hasExtraKeyValue = c.extraKey != ""
		c.extraIsSecret = map[string]bool{"password": true, "sslpassword": true, "sslkey": true}[strings.ToLower(c.extraKey)]
		if c.host == "" || pw == "" || sslPW == "" || sslKey == "" || c.extraIsSecret && extraValue == "" {
			return
		}
		s, other := c.String(), c.withOtherSecrets().String()
		if cfg, err := pgconn.ParseConfig(s); err == nil && !c.extraIsSecret && cfg.Password != pw {
			t.Fatalf("the test's own URL %q reads as password %q, not %q", s, cfg.Password, pw)
		}
		out, otherOut := dsn.Redact(s), dsn.Redact(other)
		_, pgErr := pgconn.ParseConfig(s + "&port=x port=x")
		_, otherErr := pgconn.ParseConfig(other + "&port=x port=x")
		for _, secret := range c.secrets() {
			if shows(out, otherOut, secret) {
				t.Errorf("Redact(%q)\n = %q shows the secret %q", s, out, secret)
			}
			if pgErr == nil || len(secret) < 4 {
				continue
			}
			scrubbed := dsn.ScrubError(s+"&port=x port=x", pgErr).Error()
			if shows(scrubbed, dsn.ScrubError(other+"&port=x port=x", otherErr).Error(), secret) {
				t.Errorf("ScrubError of pgx's %q\n = %q shows the secret %q", pgErr, scrubbed, secret)
			}
		}
	})
}

// shows reports whether text shows secret, or a word of it of 4 bytes or
// more, where otherText (the same with other secrets) does not.
func shows(text, otherText, secret string) bool {
	for _, part := range append(strings.Fields(secret), secret) {
		if (part == secret || len(part) >= 4) && strings.Contains(text, part) && !strings.Contains(otherText, part) {
			return true
		}
	}
	return false
}

// FuzzRedactDSNAgainstPgx reads any string with pgx: whatever pgx takes as
// the password must not survive Redact. (A password that also stands
// elsewhere in the string, as the user name for instance, may show there;
// so may one pgx reads from an escape, where it is not written as such.)
func FuzzRedactDSNAgainstPgx(f *testing.F) {
	for _, s := range []string{
		"postgres://idm:s3cretpw@h/db", "postgres://h/db?password=s3cretpw", "postgres://h/db?pass%77ord=s3cretpw",
		"host=h password=s3cretpw", "host=h password = 's3cret pw'", "postgres://u:s3cretpw@h1:1,h2:2/db?sslmode=disable",
		"postgresql://u:s3@cretpw@h/db", "postgres://%20u:s3cretpw@h", "password=s3cretpw\\ more user=u",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := pgconn.ParseConfig(s)
		if err != nil {
			return
		}
		pw := cfg.Password
		// Only a password that cannot be written across a mask or a
		// delimiter, and that stands in the string as itself.
		if len(pw) < 6 || strings.ContainsRune(pw, 'x') || only(pw, func(r rune) bool { return keywordByte(r) && r != '_' || '0' <= r && r <= '9' }) != pw {
			return
		}
		for _, public := range append([]string{cfg.User, cfg.Host, cfg.Database, fmt.Sprint(cfg.Port)}, runtimeParams(cfg)...) {
			if strings.Contains(public, pw) {
				return
			}
		}
		if out := dsn.Redact(s); strings.Count(s, pw) > 0 && strings.Count(out, pw) >= strings.Count(s, pw) {
			t.Fatalf("Redact(%q)\n = %q leaves pgx's password %q", s, out, pw)
		}
	})
}

func runtimeParams(cfg *pgconn.Config) []string {
	var list []string
	for k, v := range cfg.RuntimeParams {
		list = append(list, k, v)
	}
	for _, fb := range cfg.Fallbacks {
		list = append(list, fb.Host)
	}
	return list
}
