package domain

import (
	"errors"
	"fmt"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// attributeNameHint says what an attribute name looks like.
const attributeNameHint = "use one name (a letter, then letters, digits or hyphens, such as mail) or an OID such as 2.5.4.3"

// FilterProblem checks an LDAP search filter and says what is wrong with
// it, or "" when the directory client will send it as written. The filter
// is compiled with go-ldap's own parser (its reason is shown); on top of
// that every attribute it names must be an attribute name, and a "(" inside
// a value, which go-ldap takes as part of the value, must be escaped.
func FilterProblem(f string) string {
	if f == "" {
		return "Filter is required"
	}
	if p := lineProblem(f, MaxFilterLength); p != "" {
		return valueMessage(p)
	}
	packet, err := ldap.CompileFilter(f)
	if err != nil {
		return "The filter does not parse: " + filterReason(err)
	}
	// Every ")" go-ldap accepted closes a condition, so more "(" than ")"
	// means one stands unescaped inside a value: (uid=(x).
	if strings.Count(f, "(") != strings.Count(f, ")") {
		return `The filter does not parse: a "(" inside a value must be written \28`
	}
	if bad, ok := badFilterAttribute(packet); ok {
		return fmt.Sprintf("The filter names %q, which is not an attribute name: %s", bad, attributeNameHint)
	}
	return ""
}

// filterReason is go-ldap's reason without its prefixes, with a hint for
// the mistakes people make most.
func filterReason(err error) string {
	msg := err.Error()
	var le *ldap.Error
	if errors.As(err, &le) && le.Err != nil {
		msg = le.Err.Error()
	}
	msg = strings.TrimPrefix(msg, "ldap: ")
	switch {
	case strings.HasPrefix(msg, "filter does not start with"):
		return msg + ": enclose it in parentheses, for example (objectClass=person)"
	case msg == "unexpected end of filter":
		return msg + " (a closing parenthesis is missing)"
	case strings.HasPrefix(msg, "finished compiling filter with extra at end"):
		return msg + " (to combine conditions, write (&(a=1)(b=2)) or (|(a=1)(b=2)))"
	case msg == "error parsing filter":
		return msg + " (a condition is empty or incomplete, as in ())"
	}
	return msg
}

// badFilterAttribute walks a compiled filter and returns the first
// attribute (or matching rule) that is not an attribute name.
func badFilterAttribute(p *ber.Packet) (string, bool) {
	check := func(c *ber.Packet) (string, bool) {
		name := ber.DecodeString(c.Data.Bytes())
		return name, !ValidAttributeName(name)
	}
	switch p.Tag {
	case ldap.FilterAnd, ldap.FilterOr, ldap.FilterNot:
		for _, c := range p.Children {
			if bad, ok := badFilterAttribute(c); ok {
				return bad, true
			}
		}
	case ldap.FilterPresent:
		return check(p)
	case ldap.FilterEqualityMatch, ldap.FilterSubstrings, ldap.FilterGreaterOrEqual,
		ldap.FilterLessOrEqual, ldap.FilterApproxMatch:
		if len(p.Children) > 0 {
			return check(p.Children[0])
		}
	case ldap.FilterExtensibleMatch:
		for _, c := range p.Children {
			if c.Tag == ldap.MatchingRuleAssertionMatchingRule || c.Tag == ldap.MatchingRuleAssertionType {
				if bad, ok := check(c); ok {
					return bad, true
				}
			}
		}
	}
	return "", false
}

// ValidAttributeName reports whether s is an attribute description as RFC
// 4512 writes one: a name (a letter, then letters, digits and hyphens) or a
// numeric OID (2.5.4.3), optionally followed by options (;lang-sv, ;binary).
func ValidAttributeName(s string) bool {
	name, options, hasOptions := strings.Cut(s, ";")
	if !isKeystring(name) && !isNumericOID(name) {
		return false
	}
	if !hasOptions {
		return true
	}
	for _, o := range strings.Split(options, ";") {
		if o == "" || strings.IndexFunc(o, func(r rune) bool { return !isKeychar(r) }) >= 0 {
			return false
		}
	}
	return true
}

func isKeychar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-'
}

// isKeystring: a letter, then letters, digits or hyphens (RFC 4512 descr).
func isKeystring(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !isKeychar(r) }) < 0
}

// isNumericOID: numbers without leading zeros, two or more, joined by dots.
func isNumericOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') || strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return false
		}
	}
	return true
}
