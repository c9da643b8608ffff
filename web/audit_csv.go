package web

import (
	"net/http"

	"idm/internal/domain"
)

// handleAuditCSV downloads the audit events the Audit page's filters keep,
// newest first, read a page at a time; every cell is guarded against being
// read as a formula.
func (s *Server) handleAuditCSV(w http.ResponseWriter, r *http.Request) {
	q := s.readAuditQuery(r)
	for _, msg := range q.errs {
		s.fail(w, r, domain.Errorf(domain.EINVALID, "%s", msg))
		return
	}
	targets, err := s.auditTargets(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.streamCSV(w, r, "audit", []string{"when", "who", "action", "target", "detail"}, func(offset int) ([][]string, error) {
		events, _, err := s.deps.Store.FindAudit(r.Context(), q.filter, offset, csvPage)
		rows := make([][]string, len(events))
		for i := range events {
			row := s.auditRow(&events[i], targets)
			rows[i] = csvRecord(row.At, row.Actor, row.Action, row.Target, row.Detail)
		}
		return rows, err
	})
}
