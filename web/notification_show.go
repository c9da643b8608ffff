package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

func (s *Server) handleNotificationShow(w http.ResponseWriter, r *http.Request) {
	hook, err := s.deps.Store.GetWebhook(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderWebhook(w, r, http.StatusOK, hook, webhookView(hook, hook.SecretEnc != "", nil))
}

// renderWebhook shows webhook cur's page with form f (as saved, or as
// posted with its messages) and its delivery log.
func (s *Server) renderWebhook(w http.ResponseWriter, r *http.Request, status int, cur *domain.Webhook, f templates.WebhookForm) {
	deliveries, pending, err := s.webhookActivity(r.Context(), cur.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templates.WebhookView{
		Chrome:    s.chrome(r, "Webhook "+cur.Name, templates.Crumb{Label: "Home", Href: "/admin"}, notificationsCrumb, templates.Crumb{Label: cur.Name}),
		SavedName: cur.Name, Form: f, UpdatedBy: cur.UpdatedBy, UpdatedAt: s.formatTime(cur.UpdatedAt), Pending: pending[cur.ID],
		Deliveries: s.deliveryRows(deliveries, map[string]string{cur.ID: cur.Name}),
	}
	s.render(w, r, status, templates.WebhookPage(v))
}
