package directory

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// fakePage is what the fake directory does with one search request: send
// Entries entries and Referrals references, then either stay silent (a hung
// server), or end with Code and, when Cookie is set, a paging cookie.
type fakePage struct {
	Entries, Referrals int
	Silent             bool
	Code               int
	Cookie             string
}

// fakeDirectory is an LDAP server that accepts any bind and answers the
// n-th search request with pages[n]: the faults slapd cannot be made to
// produce on demand (a page that never comes, a time limit on page 2).
func fakeDirectory(t *testing.T, pages []fakePage) string {
	t.Helper()
	return fakeLDAP(t, func(c net.Conn, id int64, n int) {
		if n >= len(pages) {
			writeResult(c, id, ldap.ApplicationSearchResultDone, ldap.LDAPResultOther, "unexpected search", nil)
			return
		}
		pg := pages[n]
		for i := range pg.Entries {
			writeEntry(c, id, fmt.Sprintf("uid=u%d-%d,dc=example,dc=com", n+1, i), fmt.Sprintf("u%d-%d", n+1, i))
		}
		for range pg.Referrals {
			writeReference(c, id, "ldap://other.example.com/dc=other")
		}
		if pg.Silent {
			return
		}
		var ctrl *ldap.ControlPaging
		if pg.Cookie != "" {
			ctrl = ldap.NewControlPaging(0)
			ctrl.SetCookie([]byte(pg.Cookie))
		}
		writeResult(c, id, ldap.ApplicationSearchResultDone, pg.Code, "", ctrl)
	})
}

// fakeLDAP is an LDAP server on loopback that accepts any bind, hands each
// search request to search with its message ID and how many searches came
// before it on the connection, and ends the connection on anything else
// (unbind, abandon).
func fakeLDAP(t *testing.T, search func(c net.Conn, id int64, n int)) string {
	t.Helper()
	return fakeServer(t, func(c net.Conn) {
		for n := 0; ; {
			p, err := ber.ReadPacket(c)
			if err != nil || len(p.Children) < 2 {
				return
			}
			id := p.Children[0].Value.(int64)
			switch p.Children[1].Tag {
			case ldap.ApplicationBindRequest:
				writeResult(c, id, ldap.ApplicationBindResponse, 0, "", nil)
			case ldap.ApplicationSearchRequest:
				search(c, id, n)
				n++
			default:
				return
			}
		}
	})
}

func envelope(id int64, op *ber.Packet) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	p.AppendChild(op)
	return p
}

func writeResult(c net.Conn, id int64, tag ber.Tag, code int, diag string, paging *ldap.ControlPaging) {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "Result")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "diagnosticMessage"))
	p := envelope(id, op)
	if paging != nil {
		ctrls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		ctrls.AppendChild(paging.Encode())
		p.AppendChild(ctrls)
	}
	_, _ = c.Write(p.Bytes())
}

func writeEntry(c net.Conn, id int64, dn, uid string) {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "Entry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "DN"))
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	attr := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attribute")
	attr.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "uid", "type"))
	vals := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "values")
	vals.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, uid, "value"))
	attr.AppendChild(vals)
	attrs.AppendChild(attr)
	op.AppendChild(attrs)
	_, _ = c.Write(envelope(id, op).Bytes())
}

func writeReference(c net.Conn, id int64, uri string) {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultReference, nil, "Reference")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, uri, "URI"))
	_, _ = c.Write(envelope(id, op).Bytes())
}

func TestSearchFaults(t *testing.T) {
	tests := []struct {
		name      string
		pages     []fakePage
		wantPages int    // calls of fn
		wantErr   string // "" for success
		referrals int
	}{
		{
			name:      "OKThreePages",
			pages:     []fakePage{{Entries: 2, Cookie: "a"}, {Entries: 2, Cookie: "b"}, {Entries: 1}},
			wantPages: 3,
		},
		{
			name:      "OKReferralsIgnoredAndCounted",
			pages:     []fakePage{{Entries: 2, Referrals: 2, Cookie: "a"}, {Entries: 1, Referrals: 1}},
			wantPages: 2, referrals: 3,
		},
		{
			name:      "OKServerWithoutPaging",
			pages:     []fakePage{{Entries: 3}},
			wantPages: 1,
		},
		{
			name:      "OKEmptyPageSkipped",
			pages:     []fakePage{{Entries: 0, Cookie: "a"}, {Entries: 2}},
			wantPages: 1,
		},
		{
			name:      "ErrSecondPageNeverComes",
			pages:     []fakePage{{Entries: 2, Cookie: "a"}, {Entries: 1, Silent: true}},
			wantPages: 1,
			wantErr:   "failed on page 2: no answer within the search timeout",
		},
		{
			name:      "ErrTimeLimitOnThirdPage",
			pages:     []fakePage{{Entries: 2, Cookie: "a"}, {Entries: 2, Cookie: "b"}, {Entries: 1, Code: ldap.LDAPResultTimeLimitExceeded}},
			wantPages: 2,
			wantErr:   "failed on page 3: time limit exceeded (3)",
		},
		{
			name:      "ErrSizeLimitWithoutPaging",
			pages:     []fakePage{{Entries: 3, Code: ldap.LDAPResultSizeLimitExceeded}},
			wantPages: 0,
			wantErr:   "failed on page 1: size limit exceeded (4)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := settingsFor("ldap://" + fakeDirectory(t, tt.pages))
			set.SearchTimeoutSeconds = 1
			c := mustDial(t, set, secretPassword)
			calls := 0
			start := time.Now()
			err := c.Search(context.Background(), "(uid=*)", set.AttributeMap, func(page []Entry) error {
				calls++
				for _, e := range page {
					if e.Err != nil || e.Person.Username == "" {
						t.Errorf("entry %s: %+v, %v", e.DN, e.Person, e.Err)
					}
				}
				return nil
			})
			if tt.wantErr != "" {
				requireStep(t, err, StepSearch, tt.wantErr)
			} else if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if calls != tt.wantPages {
				t.Errorf("fn called %d times, want %d", calls, tt.wantPages)
			}
			if c.Referrals() != tt.referrals {
				t.Errorf("Referrals() = %d, want %d", c.Referrals(), tt.referrals)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Search took %s with a 1s timeout", took)
			}
		})
	}
}
