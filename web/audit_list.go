package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

// auditPageSize is how many audit events one page shows.
const auditPageSize = 50

func (s *Server) mountAdminAudit(r chi.Router) {
	r.Get("/audit", s.handleAuditList)
}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) {
	page, err := pageParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	events, total, err := s.deps.Store.ListAudit(r.Context(), (page-1)*auditPageSize, auditPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := int((total + auditPageSize - 1) / auditPageSize)
	if page > max(pages, 1) {
		s.fail(w, r, domain.Errorf(domain.ENOTFOUND, "There is no page %d: the audit log has %d.", page, pages))
		return
	}
	v := templates.AuditView{
		Chrome: s.chrome(r, "Audit", templates.Crumb{Label: "Home", Href: "/admin"}, templates.Crumb{Label: "Audit"}),
		Page:   page, Pages: pages, Total: total,
	}
	for _, e := range events {
		v.Events = append(v.Events, templates.AuditRow{At: s.formatTime(e.At), Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail})
	}
	s.render(w, r, http.StatusOK, templates.Audit(v))
}
