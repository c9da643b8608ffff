package web

import (
	"net/http"
	"net/url"

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
	in, err := readForm(r)
	if err != nil {
		return webhookForm{}, err
	}
	var f webhookForm
	if cur != nil {
		f.W = *cur
	}
	w := &f.W
	w.Name, w.URL, w.Enabled = in.raw("name"), in.text("url"), in.flag("enabled")
	for _, e := range domain.NoticeEvents {
		_ = w.SetEvent(e.Event, false)
	}
	errs := in.errs
	for _, e := range r.PostForm["event"] {
		if w.SetEvent(e, true) != nil && !errs.Has("events") {
			errs.Add("events", "Choose among the events listed")
		}
	}
	errs.Merge(w.Validate())
	// Not trimmed: spaces may belong to a secret.
	f.Secret = in.raw("secret")
	if f.Secret != "" || cur == nil {
		errs.Merge(domain.ValidateWebhookSecret(f.Secret))
	}
	f.View = webhookView(w, cur != nil && cur.SecretEnc != "", errs.Map())
	if u, err := url.Parse(w.URL); err == nil && u.User != nil {
		// Refused, and not echoed: a password typed into the URL.
		f.View.URL = u.Redacted()
	}
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
