package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// handleNotificationDelete deletes a webhook with its waiting notices and
// its delivery log.
func (s *Server) handleNotificationDelete(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	hook, err := s.deps.Store.GetWebhook(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Store.DeleteWebhook(r.Context(), id, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("webhook deleted", "webhook", id, "name", hook.Name, "by", actor(r))
	s.redirectWithFlash(w, r, "/admin/notifications", "Webhook "+hook.Name+" deleted.")
}
