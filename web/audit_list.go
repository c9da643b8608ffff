package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/internal/store"
	"idm/templates"
)

// auditPageSize is how many audit events one page shows.
const auditPageSize = 50

func (s *Server) mountAdminAudit(r chi.Router) {
	r.Get("/audit", s.handleAuditList)
	r.Get("/audit.csv", s.handleAuditCSV)
}

// auditAction is one kind of audit event: its label, and how the page's
// subtitle names what it records.
type auditAction struct {
	Action, Label, Kind string
}

// auditActions are every kind of event the audit log records, in the order
// the filter lists them.
var auditActions = []auditAction{
	{domain.AuditScheduleSave, "Schedule saved", "schedules saved"},
	{domain.AuditLDAPSave, "LDAP connection saved", "the LDAP connection saved"},
	{domain.AuditThresholdOverride, "Deactivation limit override", "deactivation limit overrides set and used"},
	{domain.AuditAccountCreate, "Account created", "accounts created"},
	{domain.AuditAccountPassword, "Password set", "passwords set"},
	{domain.AuditAccountDisable, "Account disabled or enabled", "accounts disabled or enabled"},
	{domain.AuditAccountRole, "Role changed", "roles changed"},
	{domain.AuditTokenCreate, "API token created", "API tokens created"},
	{domain.AuditTokenRevoke, "API token revoked", "API tokens revoked"},
	{domain.AuditJobRun, "Run started", "runs started"},
	{domain.AuditCacheClear, "Cache cleared", "Operator caches cleared"},
	{domain.AuditWebhookCreate, "Webhook created", "webhooks created"},
	{domain.AuditWebhookSave, "Webhook saved", "saved"},
	{domain.AuditWebhookDelete, "Webhook deleted", "deleted"},
	{domain.AuditWebhookTest, "Webhook tested", "tested"},
}

// auditSubtitle names every kind of event recorded.
func auditSubtitle() string {
	kinds := make([]string, len(auditActions))
	for i, a := range auditActions {
		kinds[i] = a.Kind
	}
	return "Who did what, and when: " + strings.Join(kinds[:len(kinds)-1], ", ") + " and " + kinds[len(kinds)-1] + ". Newest first."
}

// auditQuery is the Audit page's filters as asked for and as read.
type auditQuery struct {
	form   templates.AuditFilterView
	filter store.AuditFilter
	errs   map[string]string
}

// choosePerson is the message at a person filter that names nobody the
// audit log records.
const choosePerson = "Choose a person from the list."

// readAuditQuery reads who, action, from and to; from and to are days in
// the configured zone, to included.
func (s *Server) readAuditQuery(r *http.Request) auditQuery {
	v := r.URL.Query()
	q := auditQuery{errs: map[string]string{}, form: templates.AuditFilterView{
		Who: v.Get("who"), Action: v.Get("action"), From: strings.TrimSpace(v.Get("from")), To: strings.TrimSpace(v.Get("to")),
	}}
	if err := domain.CheckActorName(q.form.Who); err != nil {
		q.errs["who"] = choosePerson
	}
	q.filter.Actor = q.form.Who
	if q.form.Action != "" {
		if auditLabel(q.form.Action, "") == q.form.Action {
			q.errs["action"] = "Choose an action from the list."
		}
		q.filter.Action = q.form.Action
	}
	q.filter.From = s.auditDay(q.form.From, "from", q.errs)
	if to := s.auditDay(q.form.To, "to", q.errs); !to.IsZero() {
		q.filter.To = to.AddDate(0, 0, 1)
	}
	if !q.filter.From.IsZero() && !q.filter.To.IsZero() && !q.filter.From.Before(q.filter.To) {
		q.errs["to"] = "The last day comes before the first."
	}
	return q
}

// auditDay reads a day (YYYY-MM-DD) in the configured zone; a bad one is
// recorded in errs under field.
func (s *Server) auditDay(text, field string, errs map[string]string) time.Time {
	if text == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation(time.DateOnly, text, s.deps.Location)
	if err != nil {
		errs[field] = "Enter a day as YYYY-MM-DD, for example 2026-12-01."
		return time.Time{}
	}
	return t
}

// auditLabel is an event's action as people read it; an account's
// disabling says whether it was disabled or enabled.
func auditLabel(action, detail string) string {
	if action == domain.AuditAccountDisable {
		switch detail {
		case "disabled → true":
			return "Account disabled"
		case "disabled → false":
			return "Account enabled"
		}
	}
	for _, a := range auditActions {
		if a.Action == action {
			return a.Label
		}
	}
	return action
}

// auditTargets names what events are about: processes by name, the LDAP
// connection, the Operator cache, accounts.
type auditTargets map[string]string

func (s *Server) auditTargets(ctx context.Context) (auditTargets, error) {
	jobs, err := s.deps.Store.ListJobs(ctx)
	if err != nil {
		return nil, err
	}
	hooks, err := s.deps.Store.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	t := auditTargets{"ldap_settings": "LDAP connection", "operator_cache": "Operator cache"}
	for _, j := range jobs {
		t[string(j.Key)] = j.ProcessName
	}
	for _, h := range hooks {
		t[h.ID] = "Webhook " + h.Name
	}
	return t, nil
}

func (t auditTargets) name(e *domain.AuditEvent) string {
	switch e.Action {
	case domain.AuditAccountCreate, domain.AuditAccountPassword, domain.AuditAccountDisable, domain.AuditAccountRole:
		return "Account " + e.Target
	case domain.AuditTokenCreate, domain.AuditTokenRevoke:
		return "API token " + e.Target
	}
	if n, ok := t[e.Target]; ok {
		return n
	}
	return e.Target
}

// auditRow is one event as the page and the CSV show it.
func (s *Server) auditRow(e *domain.AuditEvent, targets auditTargets) templates.AuditRow {
	return templates.AuditRow{At: s.formatTime(e.At), Actor: e.Actor, Action: auditLabel(e.Action, e.Detail),
		Target: targets.name(e), Detail: e.Detail}
}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) {
	page, err := pageParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := s.readAuditQuery(r)
	v, err := s.auditView(r, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(q.errs) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, templates.Audit(v))
		return
	}
	events, total, err := s.deps.Store.FindAudit(r.Context(), q.filter, (page-1)*auditPageSize, auditPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := int((total + auditPageSize - 1) / auditPageSize)
	if page > max(pages, 1) {
		s.fail(w, r, domain.Errorf(domain.ENOTFOUND, "There is no page %d: the audit log has %d.", page, pages))
		return
	}
	targets, err := s.auditTargets(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Pager, v.Total = pager(r, page, auditPageSize, int(total)), total
	for i := range events {
		v.Events = append(v.Events, s.auditRow(&events[i], targets))
	}
	s.render(w, r, http.StatusOK, templates.Audit(v))
}

// auditView is the Audit page's frame and filter form for q.
func (s *Server) auditView(r *http.Request, q auditQuery) (templates.AuditView, error) {
	actors, err := s.deps.Store.AuditActors(r.Context())
	if err != nil {
		return templates.AuditView{}, err
	}
	v := templates.AuditView{
		Chrome:   s.chrome(r, "Audit", templates.Crumb{Label: "Home", Href: "/admin"}, templates.Crumb{Label: "Audit"}),
		Subtitle: auditSubtitle(), Filter: q.form, Errors: q.errs, Filtered: q.form != (templates.AuditFilterView{}),
		CSVHref: "/admin/audit.csv",
	}
	if qs := r.URL.Query(); len(qs) > 0 {
		qs.Del("page")
		if enc := qs.Encode(); enc != "" {
			v.CSVHref += "?" + enc
		}
	}
	if q.form.Who != "" && !slices.Contains(actors, q.form.Who) {
		q.errs["who"] = choosePerson
	}
	v.People = append(v.People, templates.OpOption{Value: "", Label: "Everyone", Selected: q.form.Who == ""})
	for _, a := range actors {
		v.People = append(v.People, templates.OpOption{Value: a, Label: a, Selected: a == q.form.Who})
	}
	v.Actions = append(v.Actions, templates.OpOption{Value: "", Label: "Every action", Selected: q.form.Action == ""})
	for _, a := range auditActions {
		v.Actions = append(v.Actions, templates.OpOption{Value: a.Action, Label: a.Label, Selected: a.Action == q.form.Action})
	}
	return v, nil
}
