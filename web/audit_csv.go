package web

import (
	"encoding/csv"
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
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"when", "who", "action", "target", "detail"}); err != nil {
		return
	}
	for offset := 0; ; offset += csvPage {
		events, _, err := s.deps.Store.FindAudit(r.Context(), q.filter, offset, csvPage)
		if err != nil {
			// The status is sent already: the download ends short, and the
			// log says why.
			s.log.Error("audit csv", "offset", offset, "err", err)
			cw.Flush()
			return
		}
		for i := range events {
			row := s.auditRow(&events[i], targets)
			if err := cw.Write(csvRecord(row.At, row.Actor, row.Action, row.Target, row.Detail)); err != nil {
				return // the client went away
			}
		}
		cw.Flush()
		if cw.Error() != nil || len(events) < csvPage {
			return
		}
	}
}
