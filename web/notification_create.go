package web

import "net/http"

// handleNotificationCreate creates a webhook. Bad input re-renders the
// list with a message at each field and creates nothing.
func (s *Server) handleNotificationCreate(w http.ResponseWriter, r *http.Request) {
	f, err := parseWebhookForm(r, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.View.Errors) > 0 {
		s.renderNotifications(w, r, http.StatusUnprocessableEntity, f.View)
		return
	}
	if err := s.sealSecret(&f); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Store.CreateWebhook(r.Context(), &f.W, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("webhook created", "webhook", f.W.ID, "name", f.W.Name, "by", actor(r))
	s.redirectWithFlash(w, r, "/admin/notifications/"+f.W.ID, "Webhook "+f.W.Name+" created. Send test checks that the receiver accepts its notices.")
}
