package web

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// handleNotificationSendTest posts a test notice to the webhook at once
// (within the delivery timeout) and says how the receiver answered; the
// attempt is in the delivery log below.
func (s *Server) handleNotificationSendTest(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	d, err := s.deps.Webhooks.SendTest(r.Context(), id, actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msg := fmt.Sprintf("Test notice delivered: the receiver answered HTTP %d.", d.StatusCode)
	if !d.OK() {
		msg = "Test notice not delivered: " + d.Error + "."
	}
	s.redirectWithFlash(w, r, "/admin/notifications/"+id, msg)
}
