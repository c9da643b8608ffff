package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// handleNotificationSave saves a webhook's form. Bad input re-renders the
// page with a message at each field and saves nothing; an empty secret
// keeps the stored one.
func (s *Server) handleNotificationSave(w http.ResponseWriter, r *http.Request) {
	cur, err := s.deps.Store.GetWebhook(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := parseWebhookForm(r, cur)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.View.Errors) > 0 {
		s.renderWebhook(w, r, http.StatusUnprocessableEntity, cur, f.View)
		return
	}
	if err := s.sealSecret(&f); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Store.SaveWebhook(r.Context(), &f.W, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("webhook saved", "webhook", f.W.ID, "name", f.W.Name, "secret_changed", f.Secret != "", "by", actor(r))
	s.redirectWithFlash(w, r, "/admin/notifications/"+f.W.ID, "Webhook "+f.W.Name+" saved.")
}
