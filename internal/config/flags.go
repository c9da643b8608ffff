package config

import "idm/internal/dsn"

// shownString is a string flag that shows its value through show in usage
// text: a default taken from the environment can hold a secret, and flag
// prints defaults in -h and after a usage error.
type shownString struct {
	p    *string
	show func(string) string
}

func (s shownString) String() string {
	if s.p == nil || *s.p == "" {
		return ""
	}
	return s.show(*s.p)
}

func (s shownString) Set(v string) error {
	*s.p = v
	return nil
}

func hidden(string) string { return "(hidden)" }

// databaseURLFlag shows the database URL with its secrets masked.
func databaseURLFlag(p *string, value string) shownString {
	*p = value
	return shownString{p: p, show: dsn.Redact}
}

// secretFlag shows only that a value is set.
func secretFlag(p *string, value string) shownString {
	*p = value
	return shownString{p: p, show: hidden}
}
