package web_test

import (
	"context"
	"encoding/csv"
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

	t.Run("FirstPageNewest", func(t *testing.T) {
		doc := e.get("/admin/audit")
		d := auditDetails(doc)
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
		d := auditDetails(doc)
		if len(d) != 20 || d[0] != "event 018" || d[18] != "event 000" {
			t.Fatalf("page 3 shows %d events: %v", len(d), d)
		}
		oldest := doc.Find(`[data-testid="audit-event"]`).Last().Find("td")
		if action, target := oldest.Eq(2).Text(), oldest.Eq(3).Text(); action != "Account created" || target != "Account "+testAdmin {
			t.Errorf("the oldest event is %s of %s, want the account's creation", action, target)
		}
		if doc.Find(`[data-testid="audit-next"]`).Length() != 0 {
			t.Error("the last page links to an older page")
		}
		if href, _ := doc.Find(`[data-testid="audit-prev"]`).Attr("href"); href != "/admin/audit?page=2" {
			t.Errorf("prev links to %q", href)
		}
	})
	t.Run("ProcessNames", func(t *testing.T) {
		first := e.get("/admin/audit").Find(`[data-testid="audit-event"]`).First().Find("td")
		if action, target := first.Eq(2).Text(), first.Eq(3).Text(); action != "Schedule saved" || target != "Synchronize active LDAP Users to Identity Manager" {
			t.Errorf("newest event: %q of %q", action, target)
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

// auditDetails are the details of the audit events a page lists, in order.
func auditDetails(doc *goquery.Document) []string {
	var d []string
	doc.Find(`[data-testid="audit-event"]`).Each(func(_ int, s *goquery.Selection) {
		d = append(d, strings.TrimSpace(s.Find("td").Last().Text()))
	})
	return d
}

// auditRows are the audit events a page lists, each as "who action".
func auditRows(doc *goquery.Document) []string {
	var out []string
	doc.Find(`[data-testid="audit-event"]`).Each(func(_ int, s *goquery.Selection) {
		td := s.Find("td")
		out = append(out, td.Eq(1).Text()+" "+td.Eq(2).Text())
	})
	return out
}

// filterEvents are the four events TestAuditFiltersAndCSV filters, around
// midnight in Stockholm on 2 June 2030 (22:00 UTC on 1 June); the first
// detail is a spreadsheet formula the CSV must defuse.
var filterEvents = []domain.AuditEvent{
	{At: time.Date(2030, 6, 1, 21, 30, 0, 0, time.UTC), Actor: "bob", Action: domain.AuditScheduleSave, Target: "inactive", Detail: "=1+1"},
	{At: time.Date(2030, 6, 1, 22, 30, 0, 0, time.UTC), Actor: "olga", Action: domain.AuditJobRun, Target: "inactive", Detail: "run r1 started"},
	{At: time.Date(2030, 6, 2, 8, 0, 0, 0, time.UTC), Actor: "olga", Action: domain.AuditCacheClear, Target: "operator_cache", Detail: "reloaded"},
	{At: time.Date(2030, 6, 3, 8, 0, 0, 0, time.UTC), Actor: "bob", Action: domain.AuditAccountDisable, Target: "olga", Detail: "disabled → true"},
}

// auditFilterCases are filter queries and the rows ("who action|…") each
// leaves of filterEvents and the account's creation.
var auditFilterCases = []struct {
	name, query string
	want        string
}{
	{"ByPerson", "who=olga", "olga Cache cleared|olga Run started"},
	{"ByAction", "action=" + domain.AuditAccountDisable, "bob Account disabled"},
	{"ByDayInTheConfiguredZone", "from=2030-06-02&to=2030-06-02", "olga Cache cleared|olga Run started"},
	{"FromOnly", "from=2030-06-03", "bob Account disabled"},
	{"ToOnly", "to=2030-06-01", "bob Schedule saved|test Account created"},
	{"Together", "who=bob&action=" + domain.AuditScheduleSave + "&to=2030-06-02", "bob Schedule saved"},
}

func TestAuditFiltersAndCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, ev := range filterEvents {
		if err := e.db.AddAudit(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range auditFilterCases {
		t.Run(tc.name, func(t *testing.T) {
			doc := e.get("/admin/audit?" + tc.query)
			if got := strings.Join(auditRows(doc), "|"); got != tc.want {
				t.Errorf("rows %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("SubtitleNamesEveryKind", func(t *testing.T) {
		sub := testid(e.get("/admin/audit"), "audit-subtitle")
		for _, kind := range []string{"schedules saved", "the LDAP connection saved", "runs started", "Operator caches cleared", "accounts created"} {
			if !strings.Contains(sub, kind) {
				t.Errorf("subtitle %q does not name %q", sub, kind)
			}
		}
	})
	for _, tc := range []struct{ name, query, field string }{
		{"ErrNotADay", "from=yesterday", "from"},
		{"ErrLastBeforeFirst", "from=2030-06-03&to=2030-06-01", "to"},
		{"ErrUnknownAction", "action=drop.tables", "action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(http.MethodGet, "/admin/audit?"+tc.query, nil, false)
			doc := parseHTML(t, res)
			if res.Code != http.StatusUnprocessableEntity || testid(doc, "error-"+tc.field) == "" || doc.Find(`[data-testid="audit-event"]`).Length() != 0 {
				t.Errorf("status %d, message at %s %q, %d events; want 422, a message at the field and no events",
					res.Code, tc.field, testid(doc, "error-"+tc.field), doc.Find(`[data-testid="audit-event"]`).Length())
			}
		})
	}
	t.Run("CSVKeepsTheFiltersAndGuardsFormulas", func(t *testing.T) { testAuditCSV(t, e) })
}

// testAuditCSV follows the page's CSV link: it keeps the page's filter,
// and a detail that starts a formula is quoted with a leading apostrophe.
func testAuditCSV(t *testing.T, e *testEnv) {
	doc := e.get("/admin/audit?who=bob")
	href, _ := doc.Find(`[data-testid="audit-csv"]`).Attr("href")
	if href != "/admin/audit.csv?who=bob" {
		t.Fatalf("CSV link %q", href)
	}
	res := e.do(http.MethodGet, href, nil, false)
	recs, err := csv.NewReader(strings.NewReader(res.Body.String())).ReadAll()
	if err != nil || res.Code != http.StatusOK {
		t.Fatalf("status %d, %v:\n%s", res.Code, err, res.Body)
	}
	want := "when,who,action,target,detail|" +
		"2030-06-03 10:00:00 CEST,bob,Account disabled,Account olga,disabled → true|" +
		"2030-06-01 23:30:00 CEST,bob,Schedule saved,Synchronize inactive LDAP Users to Identity Manager,'=1+1"
	var got []string
	for _, r := range recs {
		got = append(got, strings.Join(r, ","))
	}
	if strings.Join(got, "|") != want {
		t.Errorf("CSV\n%s\nwant\n%s", strings.Join(got, "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
}
