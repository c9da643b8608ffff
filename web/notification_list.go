package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"idm/internal/domain"
	"idm/templates"
)

// mountAdminNotifications serves Home > Notifications: the webhooks told
// when a run ends, their delivery log and Send test.
func (s *Server) mountAdminNotifications(r chi.Router) {
	r.Get("/notifications", s.handleNotificationList)
	r.Post("/notifications", s.handleNotificationCreate)
	r.Get("/notifications/{id}", s.handleNotificationShow)
	r.Post("/notifications/{id}", s.handleNotificationSave)
	r.Post("/notifications/{id}/test", s.handleNotificationSendTest)
	r.Post("/notifications/{id}/delete", s.handleNotificationDelete)
}

// latestDeliveries is how many attempts the delivery logs show.
const latestDeliveries = 50

var notificationsCrumb = templates.Crumb{Label: "Notifications", Href: "/admin/notifications"}

func (s *Server) handleNotificationList(w http.ResponseWriter, r *http.Request) {
	s.renderNotifications(w, r, http.StatusOK, templates.WebhookForm{Enabled: true, Events: map[string]bool{domain.EventRunFailed: true, domain.EventSafetyStop: true}})
}

// renderNotifications shows the list with the new-webhook form f (empty,
// or as posted with its messages).
func (s *Server) renderNotifications(w http.ResponseWriter, r *http.Request, status int, f templates.WebhookForm) {
	hooks, err := s.deps.Store.ListWebhooks(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	deliveries, pending, err := s.webhookActivity(r.Context(), "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := templates.NotificationsView{
		Chrome: s.chrome(r, "Notifications", templates.Crumb{Label: "Home", Href: "/admin"}, templates.Crumb{Label: "Notifications"}),
		New:    f,
	}
	names := make(map[string]string, len(hooks))
	for _, h := range hooks {
		names[h.ID] = h.Name
		v.Webhooks = append(v.Webhooks, templates.WebhookRow{
			ID: h.ID, Name: h.Name, URL: h.URL, Events: eventLabels(&h), Enabled: h.Enabled, Pending: pending[h.ID],
		})
	}
	v.Deliveries = s.deliveryRows(deliveries, names)
	s.render(w, r, status, templates.Notifications(v))
}

// webhookActivity is the latest delivery attempts of webhook id (of every
// webhook for "") and how many notices wait, per webhook.
func (s *Server) webhookActivity(ctx context.Context, id string) ([]domain.Delivery, map[string]int, error) {
	deliveries, err := s.deps.Store.ListDeliveries(ctx, id, latestDeliveries)
	if err != nil {
		return nil, nil, err
	}
	pending, err := s.deps.Store.PendingNotices(ctx)
	return deliveries, pending, err
}

// eventLabels are the labels of the events h subscribes to.
func eventLabels(h *domain.Webhook) []string {
	var labels []string
	for _, e := range domain.NoticeEvents {
		if h.Wants(e.Event) {
			labels = append(labels, e.Label)
		}
	}
	return labels
}

// deliveryOutcomes label each delivery outcome.
var deliveryOutcomes = map[string]string{
	domain.DeliveryDelivered: "delivered",
	domain.DeliveryRetrying:  "failed, will retry",
	domain.DeliveryGaveUp:    "failed, given up",
	domain.DeliveryTestOK:    "test delivered",
	domain.DeliveryTestFail:  "test failed",
}

// deliveryRows are ds as the log shows them; names are the webhooks' names.
func (s *Server) deliveryRows(ds []domain.Delivery, names map[string]string) []templates.DeliveryRow {
	rows := make([]templates.DeliveryRow, 0, len(ds))
	for _, d := range ds {
		row := templates.DeliveryRow{
			At: s.formatTime(d.At), Webhook: names[d.WebhookID], WebhookHref: "/admin/notifications/" + d.WebhookID,
			Event: d.Event, Attempt: d.Attempt, Status: "—", Outcome: d.Outcome, OutcomeLabel: deliveryOutcomes[d.Outcome],
			OK: d.OK(), Duration: formatDuration(time.Duration(d.DurationMS) * time.Millisecond), Error: d.Error,
		}
		if d.StatusCode != 0 {
			row.Status = strconv.Itoa(d.StatusCode)
		}
		if d.RunID != "" {
			row.RunHref = "/operator/runs/" + d.RunID
		}
		rows = append(rows, row)
	}
	return rows
}
