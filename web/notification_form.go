package web

import (
	"net/http"
	"strings"

	"idm/internal/domain"
	"idm/templates"
)

// webhookForm is a webhook form as posted and checked.
type webhookForm struct {
	W      domain.Webhook // cur with the form's values over it
	Secret string         // the typed signing secret, "" to keep the stored one
	View   templates.WebhookForm
}

// parseWebhookForm reads the form over cur (nil for a new webhook, which
// needs a secret) and checks it with the domain's rules. The secret is
// never put back into the form.
func parseWebhookForm(r *http.Request, cur *domain.Webhook) (webhookForm, error) {
	if err := r.ParseForm(); err != nil {
		return webhookForm{}, domain.Errorf(domain.EINVALID, "The form could not be read: %v", err)
	}
	var f webhookForm
	if cur != nil {
		f.W = *cur
	}
	w := &f.W
	w.Name, w.URL = r.PostFormValue("name"), strings.TrimSpace(r.PostFormValue("url"))
	w.Enabled = r.PostFormValue("enabled") == "true"
	for _, e := range domain.NoticeEvents {
		_ = w.SetEvent(e.Event, false)
	}
	unknownEvent := false
	for _, e := range r.PostForm["event"] {
		unknownEvent = w.SetEvent(e, true) != nil || unknownEvent
	}
	errs := w.Validate()
	if unknownEvent {
		errs["events"] = "Choose among the events listed"
	}
	// Not trimmed: spaces may belong to a secret.
	f.Secret = r.PostFormValue("secret")
	if f.Secret != "" || cur == nil {
		if err := domain.ValidateWebhookSecret(f.Secret); err != nil {
			errs["secret"] = domain.ErrorMessage(err)
		}
	}
	f.View = webhookView(w, cur != nil && cur.SecretEnc != "", errs)
	return f, nil
}

// webhookView is the form showing w.
func webhookView(w *domain.Webhook, secretSet bool, errs map[string]string) templates.WebhookForm {
	v := templates.WebhookForm{ID: w.ID, Name: w.Name, URL: w.URL, Enabled: w.Enabled, SecretSet: secretSet, Errors: errs, Events: map[string]bool{}}
	for _, e := range w.Events() {
		v.Events[e] = true
	}
	return v
}

// sealSecret seals f's typed secret into f.W (when one was typed).
func (s *Server) sealSecret(f *webhookForm) error {
	if f.Secret == "" {
		return nil
	}
	sealed, err := s.deps.Box.Seal(f.Secret)
	if err != nil {
		return err
	}
	f.W.SecretEnc = sealed
	return nil
}
