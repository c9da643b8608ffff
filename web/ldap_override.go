package web

import (
	"net/http"

	"idm/internal/cluster"
)

// handleLDAPOverride arms (or disarms) the administrator's permission for
// the next inactive run to deactivate more users than the threshold.
func (s *Server) handleLDAPOverride(w http.ResponseWriter, r *http.Request) {
	f, err := readForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	allow := f.flag("allow")
	if err := f.errs.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Store.SetThresholdOverride(r.Context(), allow, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("deactivation threshold override", "allow", allow, "by", actor(r))
	s.deps.Notify.Notify(r.Context(), cluster.TopicSettings)
	flash := "The next inactive run may deactivate more users than the threshold, once."
	if !allow {
		flash = "Permission withdrawn: the inactive job stops at the threshold again."
	}
	s.redirectWithFlash(w, r, "/admin/ldap", flash)
}
