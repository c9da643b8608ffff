package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"idm/internal/domain"
)

func TestAuditList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	// 119 events a minute apart, all newer than the account's creation
	// (the 120th event); event i is the i-th oldest of them.
	base := time.Date(2030, 6, 1, 8, 0, 0, 0, time.UTC)
	for i := range 119 {
		err := e.db.AddAudit(context.Background(), domain.AuditEvent{At: base.Add(time.Duration(i) * time.Minute), Actor: "bob",
			Action: domain.AuditScheduleSave, Target: "active", Detail: fmt.Sprintf("event %03d", i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	details := func(doc *goquery.Document) []string {
		var d []string
		doc.Find(`[data-testid="audit-event"]`).Each(func(_ int, s *goquery.Selection) {
			d = append(d, strings.TrimSpace(s.Find("td").Last().Text()))
		})
		return d
	}

	t.Run("FirstPageNewest", func(t *testing.T) {
		doc := e.get("/admin/audit")
		d := details(doc)
		if len(d) != 50 || d[0] != "event 118" || d[49] != "event 069" {
			t.Fatalf("page 1 shows %d events, first %q, last %q", len(d), d[0], d[len(d)-1])
		}
		first := doc.Find(`[data-testid="audit-event"]`).First().Find("td")
		// 09:58 UTC is 11:58 in Stockholm in June.
		if at, who := first.Eq(0).Text(), first.Eq(1).Text(); at != "2030-06-01 11:58:00 CEST" || who != "bob" {
			t.Errorf("first row at %q by %q", at, who)
		}
		if doc.Find(`[data-testid="audit-prev"]`).Length() != 0 {
			t.Error("page 1 links to a newer page")
		}
		if href, _ := doc.Find(`[data-testid="audit-next"]`).Attr("href"); href != "/admin/audit?page=2" {
			t.Errorf("next links to %q", href)
		}
		if got := testid(doc, "audit-page"); got != "Page 1 of 3 (120 events)" {
			t.Errorf("pager %q", got)
		}
	})
	t.Run("LastPage", func(t *testing.T) {
		doc := e.get("/admin/audit?page=3")
		d := details(doc)
		if len(d) != 20 || d[0] != "event 018" || d[18] != "event 000" {
			t.Fatalf("page 3 shows %d events: %v", len(d), d)
		}
		oldest := doc.Find(`[data-testid="audit-event"]`).Last().Find("td")
		if action, target := oldest.Eq(2).Text(), oldest.Eq(3).Text(); action != domain.AuditAccountCreate || target != testAdmin {
			t.Errorf("the oldest event is %s of %s, want the account's creation", action, target)
		}
		if doc.Find(`[data-testid="audit-next"]`).Length() != 0 {
			t.Error("the last page links to an older page")
		}
		if href, _ := doc.Find(`[data-testid="audit-prev"]`).Attr("href"); href != "/admin/audit?page=2" {
			t.Errorf("prev links to %q", href)
		}
	})
	for _, tc := range []struct {
		name, page string
		status     int
	}{
		{"ErrPastTheEnd", "4", http.StatusNotFound},
		{"ErrNotANumber", "x", http.StatusUnprocessableEntity},
		{"ErrZero", "0", http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res := e.do(http.MethodGet, "/admin/audit?page="+tc.page, nil, false); res.Code != tc.status {
				t.Errorf("status %d, want %d", res.Code, tc.status)
			}
		})
	}
}
