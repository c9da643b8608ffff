package domain_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"idm/internal/domain"
)

func TestWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"OK", "https://hooks.example.com/idm?team=ops", "https://hooks.example.com/idm?team=ops", ""},
		{"OKHTTPWithPort", "http://10.0.0.5:8080/notify", "http://10.0.0.5:8080/notify", ""},
		{"OKIPv6", "https://[2001:db8::1]:8443/", "https://[2001:db8::1]:8443/", ""},
		{"OKSchemeAndHostLowered", "HTTPS://Hooks.Example.COM/Path", "https://hooks.example.com/Path", ""},
		{"ErrEmpty", "", "", "Enter the webhook URL"},
		{"ErrScheme", "ftp://example.com/", "", "must start with https:// or http://"},
		{"ErrNoScheme", "hooks.example.com/idm", "", "must start with https:// or http://"},
		{"ErrJavaScript", "javascript:alert(1)", "", "must start with https:// or http://"},
		{"ErrNoHost", "https:///path", "", "needs a host name"},
		{"ErrOpaque", "https:example.com", "", "needs a host name"},
		{"ErrUserinfo", "https://user:pass@example.com/", "", "must not carry a user name or password"},
		{"ErrUserOnly", "https://token@example.com/", "", "must not carry a user name or password"},
		{"ErrFragment", "https://example.com/#x", "", "must not have a fragment"},
		{"ErrEmptyFragment", "https://example.com/#", "", "must not have a fragment"},
		{"ErrSpace", "https://example.com/a b", "", "must not contain spaces"},
		{"ErrNUL", "https://example.com/\x00", "", "contains a NUL byte"},
		{"ErrNewline", "https://example.com/\nX-Injected: 1", "", "must not contain spaces or control characters"},
		{"ErrInvalidUTF8", "https://example.com/\xff", "", "not valid UTF-8"},
		{"ErrPort", "https://example.com:70000/", "", "port outside 1 to 65535"},
		{"ErrPortZero", "https://example.com:0/", "", "port outside 1 to 65535"},
		{"ErrBadPort", "https://example.com:http/", "", "not a valid URL"},
		{"ErrTooLong", "https://example.com/" + strings.Repeat("a", domain.WebhookURLMax), "", "at most 2048 fit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := domain.ParseHTTPURL(tc.in, "webhook URL", domain.WebhookURLMax)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("ParseHTTPURL(%q): %v", tc.in, err)
			case tc.err == "" && u.String() != tc.want:
				t.Errorf("ParseHTTPURL(%q) = %q, want %q", tc.in, u, tc.want)
			case tc.err != "" && (err == nil || !strings.Contains(domain.ErrorMessage(err), tc.err)):
				t.Errorf("ParseHTTPURL(%q) = %v, %v; want an error saying %q", tc.in, u, err, tc.err)
			case tc.err != "" && domain.ErrorCode(err) != domain.EINVALID:
				t.Errorf("ParseHTTPURL(%q): code %q, want invalid", tc.in, domain.ErrorCode(err))
			}
		})
	}
}

func TestWebhookValidate(t *testing.T) {
	ok := func() domain.Webhook {
		return domain.Webhook{Name: "On call", URL: "https://hooks.example.com/idm", OnRunFailed: true}
	}
	for _, tc := range []struct {
		name   string
		change func(*domain.Webhook)
		fields []string
	}{
		{"OK", func(*domain.Webhook) {}, nil},
		{"ErrNoName", func(w *domain.Webhook) { w.Name = "  " }, []string{"name"}},
		{"ErrNameControl", func(w *domain.Webhook) { w.Name = "a\x00b" }, []string{"name"}},
		{"ErrNameTooLong", func(w *domain.Webhook) { w.Name = strings.Repeat("é", 129) }, []string{"name"}},
		{"ErrNoEvent", func(w *domain.Webhook) { w.OnRunFailed = false }, []string{"events"}},
		{"ErrAll", func(w *domain.Webhook) { *w = domain.Webhook{URL: "mailto:x@example.com"} }, []string{"name", "url", "events"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := ok()
			tc.change(&w)
			err := w.Validate()
			var fe domain.FieldErrors
			if (err != nil) != (tc.fields != nil) || (err != nil && !errors.As(err, &fe)) {
				t.Fatalf("Validate() = %v, want errors at %v", err, tc.fields)
			}
			errs := fe.Map()
			if len(errs) != len(tc.fields) {
				t.Errorf("Validate() = %v, want errors at %v", errs, tc.fields)
			}
			for _, f := range tc.fields {
				if errs[f] == "" {
					t.Errorf("no error at %s: %v", f, errs)
				}
			}
		})
	}
}

func TestWebhookSecret(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		ok           bool
	}{
		{"OK", "0123456789abcdef", true},
		{"OKSpaces", " a passphrase with spaces ", true},
		{"ErrShort", "short", false},
		{"ErrLong", strings.Repeat("x", 257), false},
		{"ErrNUL", "0123456789abcdef\x00", false},
		{"ErrInvalidUTF8", "0123456789abcdef\xff", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateWebhookSecret(tc.secret)
			if (err == nil) != tc.ok {
				t.Errorf("ValidateWebhookSecret: %v, want ok %t", err, tc.ok)
			}
			var fe domain.FieldErrors
			if err != nil && (!errors.As(err, &fe) || !fe.Has("secret")) {
				t.Errorf("ValidateWebhookSecret: %v, want it at the field secret", err)
			}
		})
	}
}

func TestNoticeEvent(t *testing.T) {
	for _, tc := range []struct {
		status domain.RunStatus
		dry    bool
		want   string
	}{
		{domain.RunFailed, false, domain.EventRunFailed},
		{domain.RunAborted, false, domain.EventRunFailed},
		{domain.RunSafetyStop, false, domain.EventSafetyStop},
		{domain.RunSucceededWithErrors, false, domain.EventSucceededWithErrors},
		{domain.RunSucceeded, false, domain.EventSucceeded},
		{domain.RunRunning, false, ""},
		{domain.RunFailed, true, ""},
	} {
		got, ok := domain.NoticeEvent(&domain.Run{Status: tc.status, DryRun: tc.dry})
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("NoticeEvent(%s, dry run %t) = %q, %t; want %q", tc.status, tc.dry, got, ok, tc.want)
		}
	}
}

// FuzzWebhookURL: whatever is typed, ParseHTTPURL answers without
// panicking, and what it accepts is an http(s) URL with a host, no user
// information, no fragment, no control characters, within the limit, and
// the same URL when parsed again.
func FuzzWebhookURL(f *testing.F) {
	for _, s := range []string{"https://example.com/a?b=c", "http://u:p@h/", "https://h/#f", "https://[::1]:1/", "HTTP://H", "https://h/\x00", "https://%zz", "https://h:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := domain.ParseHTTPURL(s, "webhook URL", domain.WebhookURLMax)
		if err != nil {
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("ParseHTTPURL(%q): %v is not an input error", s, err)
			}
			return
		}
		out := u.String()
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || u.Fragment != "" ||
			utf8.RuneCountInString(s) > domain.WebhookURLMax || !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n\t ") {
			t.Fatalf("ParseHTTPURL(%q) accepted %q", s, out)
		}
		again, err := url.Parse(out)
		if err != nil || again.String() != out {
			t.Fatalf("ParseHTTPURL(%q) = %q, which parses again as %v, %v", s, out, again, err)
		}
	})
}
