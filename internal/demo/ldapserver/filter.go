package ldapserver

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Matching rules Active Directory uses for flag attributes such as
// userAccountControl; the AD preset's filters depend on the first.
const (
	ruleBitAnd     = "1.2.840.113556.1.4.803"
	ruleBitOr      = "1.2.840.113556.1.4.804"
	ruleCaseIgnore = "2.5.13.2"
	ruleCaseExact  = "2.5.13.5"
)

// result is RFC 4511's three-valued filter outcome: a NOT of Undefined stays
// Undefined, so an unsupported matching rule never turns into a match.
type result int8

const (
	resFalse result = iota
	resTrue
	resUndefined
)

func boolResult(b bool) result {
	if b {
		return resTrue
	}
	return resFalse
}

// filter is a compiled search filter.
type filter struct{ packet *ber.Packet }

// compileFilter parses an RFC 4515 filter string.
func compileFilter(s string) (*filter, error) {
	p, err := ldap.CompileFilter(s)
	if err != nil {
		return nil, fmt.Errorf("ldapserver: compile filter %q: %w", s, err)
	}
	return &filter{packet: p}, nil
}

// match reports whether r matches; Undefined counts as no match.
func (f *filter) match(r *record) (matched bool, err error) {
	res, err := eval(f.packet, r)
	return res == resTrue, err
}

func str(p *ber.Packet) string { return ber.DecodeString(p.Data.Bytes()) }

// eval walks the filter packet as CompileFilter builds it (RFC 4511 4.5.1).
func eval(p *ber.Packet, r *record) (result, error) {
	if p.ClassType != ber.ClassContext {
		return resUndefined, fmt.Errorf("ldapserver: filter element of class %d", p.ClassType)
	}
	switch p.Tag {
	case ldap.FilterAnd:
		out := resTrue
		for _, c := range p.Children {
			res, err := eval(c, r)
			if err != nil {
				return resUndefined, err
			}
			if res == resFalse {
				return resFalse, nil
			}
			if res == resUndefined {
				out = resUndefined
			}
		}
		return out, nil
	case ldap.FilterOr:
		out := resFalse
		for _, c := range p.Children {
			res, err := eval(c, r)
			if err != nil {
				return resUndefined, err
			}
			if res == resTrue {
				return resTrue, nil
			}
			if res == resUndefined {
				out = resUndefined
			}
		}
		return out, nil
	case ldap.FilterNot:
		if len(p.Children) != 1 {
			return resUndefined, fmt.Errorf("ldapserver: NOT filter with %d elements", len(p.Children))
		}
		res, err := eval(p.Children[0], r)
		switch {
		case err != nil:
			return resUndefined, err
		case res == resTrue:
			return resFalse, nil
		case res == resFalse:
			return resTrue, nil
		}
		return resUndefined, nil
	case ldap.FilterPresent:
		return boolResult(len(r.values(str(p))) > 0), nil
	case ldap.FilterEqualityMatch, ldap.FilterApproxMatch:
		attr, value, err := assertion(p)
		if err != nil {
			return resUndefined, err
		}
		return boolResult(anyValue(r, attr, func(v string) bool { return equalValue(attr, v, value) })), nil
	case ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual:
		attr, value, err := assertion(p)
		if err != nil {
			return resUndefined, err
		}
		want := 1
		if p.Tag == ldap.FilterLessOrEqual {
			want = -1
		}
		return boolResult(anyValue(r, attr, func(v string) bool {
			c := compareOrdered(v, value)
			return c == 0 || c == want
		})), nil
	case ldap.FilterSubstrings:
		return evalSubstrings(p, r)
	case ldap.FilterExtensibleMatch:
		return evalExtensible(p, r)
	}
	return resUndefined, fmt.Errorf("ldapserver: unknown filter element %d", p.Tag)
}

func assertion(p *ber.Packet) (attr, value string, err error) {
	if len(p.Children) != 2 {
		return "", "", fmt.Errorf("ldapserver: attribute value assertion with %d elements", len(p.Children))
	}
	return str(p.Children[0]), str(p.Children[1]), nil
}

func anyValue(r *record, attr string, fn func(string) bool) bool {
	for _, v := range r.values(attr) {
		if fn(v) {
			return true
		}
	}
	return false
}

// equalValue compares without regard to case, as the directory string
// attributes the product reads do. objectCategory holds a DN in Active
// Directory, yet AD lets filters name it by the class's short name, as the
// AD preset's (objectCategory=person) does: accept the first RDN's value too.
func equalValue(attr, v, want string) bool {
	if strings.EqualFold(v, want) {
		return true
	}
	if strings.EqualFold(attr, "objectCategory") {
		if rdns, err := ldap.ParseDN(v); err == nil && len(rdns.RDNs) > 0 && len(rdns.RDNs[0].Attributes) > 0 {
			return strings.EqualFold(rdns.RDNs[0].Attributes[0].Value, want)
		}
	}
	return false
}

// compareOrdered compares integers numerically and anything else (names,
// generalized times of the same form) by case-folded text.
func compareOrdered(a, b string) int {
	x, errA := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	y, errB := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

func evalSubstrings(p *ber.Packet, r *record) (result, error) {
	if len(p.Children) != 2 {
		return resUndefined, fmt.Errorf("ldapserver: substrings filter with %d elements", len(p.Children))
	}
	attr := str(p.Children[0])
	type piece struct {
		tag   ber.Tag
		value string
	}
	pieces := make([]piece, 0, len(p.Children[1].Children))
	for _, c := range p.Children[1].Children {
		pieces = append(pieces, piece{tag: c.Tag, value: strings.ToLower(str(c))})
	}
	return boolResult(anyValue(r, attr, func(v string) bool {
		v = strings.ToLower(v)
		for i, pc := range pieces {
			switch {
			case pc.tag == ldap.FilterSubstringsInitial && i == 0:
				if !strings.HasPrefix(v, pc.value) {
					return false
				}
				v = v[len(pc.value):]
			case pc.tag == ldap.FilterSubstringsFinal && i == len(pieces)-1:
				if !strings.HasSuffix(v, pc.value) {
					return false
				}
				v = v[:len(v)-len(pc.value)]
			case pc.tag == ldap.FilterSubstringsAny:
				k := strings.Index(v, pc.value)
				if k < 0 {
					return false
				}
				v = v[k+len(pc.value):]
			default:
				return false // initial or final out of place
			}
		}
		return true
	})), nil
}

func evalExtensible(p *ber.Packet, r *record) (result, error) {
	var attr, rule, value string
	var dnAttrs bool
	for _, c := range p.Children {
		switch c.Tag {
		case ldap.MatchingRuleAssertionMatchingRule:
			rule = str(c)
		case ldap.MatchingRuleAssertionType:
			attr = str(c)
		case ldap.MatchingRuleAssertionMatchValue:
			value = str(c)
		case ldap.MatchingRuleAssertionDNAttributes:
			b, ok := c.Value.(bool)
			dnAttrs = ok && b
		}
	}
	var match func(v string) bool
	switch rule {
	case "", ruleCaseIgnore:
		match = func(v string) bool { return equalValue(attr, v, value) }
	case ruleCaseExact:
		match = func(v string) bool { return v == value }
	case ruleBitAnd, ruleBitOr:
		mask, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return resUndefined, nil // not an integer: RFC 4511 says Undefined
		}
		match = func(v string) bool {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return false
			}
			if rule == ruleBitAnd {
				return n&mask == mask
			}
			return n&mask != 0
		}
	default:
		return resUndefined, nil // e.g. LDAP_MATCHING_RULE_IN_CHAIN: not supported
	}
	if attr == "" {
		// Only a rule: RFC 4511 applies it to every attribute the rule fits.
		for _, name := range r.names {
			if anyValue(r, name, match) {
				return resTrue, nil
			}
		}
	} else if anyValue(r, attr, match) {
		return resTrue, nil
	}
	if dnAttrs {
		parsed, err := ldap.ParseDN(r.entry.DN)
		if err == nil {
			for _, rdn := range parsed.RDNs {
				for _, atv := range rdn.Attributes {
					if (attr == "" || strings.EqualFold(atv.Type, attr)) && match(atv.Value) {
						return resTrue, nil
					}
				}
			}
		}
	}
	return resFalse, nil
}
