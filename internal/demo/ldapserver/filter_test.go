package ldapserver

import (
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

func mustRecord(t *testing.T, e Entry) *record {
	t.Helper()
	r, err := newRecord(e)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFilterMatch(t *testing.T) {
	r := mustRecord(t, Entry{DN: "uid=pat,ou=People,dc=example,dc=com", Attributes: map[string][]string{
		"objectClass":        {"inetOrgPerson"},
		"uid":                {"pat"},
		"cn":                 {"Pat (IT) *star*"},
		"objectCategory":     {"CN=Person,CN=Schema,CN=Configuration,DC=example,DC=com"},
		"userAccountControl": {"66050"}, // 0x10202: normal account, disabled, password never expires
		"modifyTimestamp":    {"20240102030405Z"},
	}})
	tests := []struct {
		name   string
		filter string
		want   bool
	}{
		{"EscapedValue", `(cn=Pat \28IT\29 \2astar\2a)`, true},
		{"SubstringAroundEscapedStar", `(cn=*\2astar\2a)`, true},
		{"SubstringPiecesInOrder", "(cn=p*it*star*)", true},
		{"SubstringPiecesOutOfOrderMiss", "(cn=p*star*it*)", false},
		{"SubstringPiecesMayNotOverlap", "(uid=pa*at)", false},
		{"ObjectCategoryShortName", "(objectCategory=person)", true},
		{"ObjectCategoryFullDN", "(objectCategory=cn=person,cn=schema,cn=configuration,dc=example,dc=com)", true},
		{"BitAndDisabled", "(userAccountControl:1.2.840.113556.1.4.803:=2)", true},
		{"BitAndMissingBit", "(userAccountControl:1.2.840.113556.1.4.803:=16)", false},
		{"BitOrAnyBit", "(userAccountControl:1.2.840.113556.1.4.804:=18)", true},
		{"BitAndNonIntegerAssertionUndefined", "(userAccountControl:1.2.840.113556.1.4.803:=two)", false},
		{"NotOfUndefinedStaysUndefined", "(!(userAccountControl:1.2.840.113556.1.4.803:=two))", false},
		{"OrWithUndefinedAndTrue", "(|(userAccountControl:1.2.840.113556.1.4.803:=two)(uid=pat))", true},
		{"BitAndOnMissingAttribute", "(missing:1.2.840.113556.1.4.803:=2)", false},
		{"DNAttributes", "(ou:dn:=people)", true},
		{"DNAttributesOff", "(ou:=people)", false},
		{"RuleOnlyAnyAttribute", "(:2.5.13.2:=PAT)", true},
		{"GeneralizedTimeOrdering", "(modifyTimestamp>=20240101000000Z)", true},
		{"GeneralizedTimeOrderingMiss", "(modifyTimestamp<=20231231235959Z)", false},
		{"NotPresent", "(!(pwdAccountLockedTime=*))", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := compileFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.match(r)
			if err != nil || got != tt.want {
				t.Fatalf("%s: got %t, %v; want %t", tt.filter, got, err, tt.want)
			}
		})
	}
}

func TestFilterMalformedPacket(t *testing.T) {
	r := mustRecord(t, Entry{DN: "uid=x,dc=example,dc=com", Attributes: map[string][]string{"uid": {"x"}}})
	ctx := func(tag ber.Tag, children ...*ber.Packet) *ber.Packet {
		p := ber.Encode(ber.ClassContext, ber.TypeConstructed, tag, nil, "")
		for _, c := range children {
			p.AppendChild(c)
		}
		return p
	}
	octets := func(s string) *ber.Packet {
		return ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, s, "")
	}
	tests := []struct {
		name   string
		packet *ber.Packet
	}{
		{"ErrNotWithTwoChildren", ctx(ldap.FilterNot, ctx(ldap.FilterPresent), ctx(ldap.FilterPresent))},
		{"ErrEqualityWithOneChild", ctx(ldap.FilterEqualityMatch, octets("uid"))},
		{"ErrSubstringsWithoutPieces", ctx(ldap.FilterSubstrings, octets("uid"))},
		{"ErrUnknownTag", ctx(20)},
		{"ErrUniversalClass", octets("uid")},
		{"ErrNestedInAnd", ctx(ldap.FilterAnd, ctx(ldap.FilterEqualityMatch))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := (&filter{packet: tt.packet}).match(r); err == nil || got {
				t.Fatalf("got %t, %v; want an error", got, err)
			}
		})
	}
}

func TestInScope(t *testing.T) {
	base := []string{"ou=people", "dc=example", "dc=com"}
	tests := []struct {
		name  string
		rdns  []string
		scope int64
		want  bool
	}{
		{"BaseItself", base, scopeBase, true},
		{"ChildNotInBase", append([]string{"uid=a"}, base...), scopeBase, false},
		{"ChildInOne", append([]string{"uid=a"}, base...), scopeOne, true},
		{"BaseNotInOne", base, scopeOne, false},
		{"GrandchildNotInOne", append([]string{"cn=x", "uid=a"}, base...), scopeOne, false},
		{"GrandchildInSub", append([]string{"cn=x", "uid=a"}, base...), scopeSub, true},
		{"BaseInSub", base, scopeSub, true},
		{"SiblingNotInSub", []string{"ou=groups", "dc=example", "dc=com"}, scopeSub, false},
		{"ParentNotInSub", []string{"dc=example", "dc=com"}, scopeSub, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inScope(tt.rdns, base, tt.scope); got != tt.want {
				t.Fatalf("inScope(%v) = %t, want %t", tt.rdns, got, tt.want)
			}
		})
	}
}
