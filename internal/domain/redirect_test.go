package domain_test

import (
	"net/url"
	"strings"
	"testing"

	"idm/internal/domain"
)

// hostileRedirects are pages to return to after sign-in that must be
// refused, by kind. A browser takes most of them to another host; the rest
// are not a page of ours to return to.
var hostileRedirects = map[string][]string{
	"OtherHost": {
		"", "evil.example", "//evil.example/", "///evil.example/", "////evil.example", "https://evil.example/",
		"http:evil.example", "HTTPS://evil.example", "javascript:alert(1)", "data:text/html,hi", "//user@evil.example",
		"/admin@evil.example", // same host, but only /admin/… and /admin are ours
	},
	"Backslash": {
		`/\evil.example`, `/\/evil.example/`, `\\evil.example`, `\/evil.example`, `/admin\..\..\\evil.example`,
		`/operator?x=\`,
	},
	"WhitespaceAndControl": {
		"/\t/evil.example/", "/\r/evil.example/", "/\n/evil.example/", "/\r\n/evil.example/", "\t//evil.example/",
		" //evil.example/", "/ /evil.example/", "/\x00/evil.example/", "/\x0b/evil.example/", "/\x0c/evil.example/",
		"/\x7f/evil.example/", "/admin\t", "/operator?q=a b", "/admin\x00",
	},
	"Encoded": {
		"/%2F%2Fevil.example/", "/%2f/evil.example/", "/%2F/evil.example/", "/%5Cevil.example/", "/%5c%5cevil.example",
		"/%09/evil.example/", "/%0d%0a/evil.example/", "/%252F%252Fevil.example/", "/%2e%2e/evil.example", "/admin/%2E%2E/x",
		"%2F%2Fevil.example", "/admin/%", "/admin/%2", "/admin/%zz", "/operator?q=%", "/operator?q=%g0", "/admin/%00",
	},
	"NonASCII": {
		"/\uff0f/evil.example/", "/\u2215evil.example", "/\u3002evil.example", "/admin/\u00e9", "/\xff/evil.example", "/operator?q=\u00e9",
	},
	"DotSegments": {
		"/admin/../../evil.example", "/operator/..", "/operator/./users", "/admin/.", "/operator/../admin",
	},
	"NotAnArea": {
		"/login", "/logout", "/healthz", "/static/app.css", "/evil.example", "/administrator", "/operators", "/#//evil.example",
		"/admin#//evil.example", "/admin//evil.example",
	},
	"TooLong": {
		"/admin/" + strings.Repeat("a", 2042), "/operator?q=" + strings.Repeat("b", 2040),
	},
}

func TestSafeRedirectPath(t *testing.T) {
	for kind, values := range hostileRedirects {
		t.Run("Err"+kind, func(t *testing.T) {
			for _, next := range values {
				if p, ok := domain.SafeRedirectPath(next); ok {
					t.Errorf("SafeRedirectPath(%q) = %q, true; want refused", next, p)
				}
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		for _, next := range []string{
			"/", "/admin", "/admin/", "/operator", "/admin/accounts", "/admin/batch-sync/active", "/operator/users?q=ann&state=active",
			"/operator/users?q=a%2Fb%25c", "/operator/runs/3f2a0c1e-8d4b-4c1e-9a7e-0f1b2c3d4e5f?outcome=error&page=2",
			"/operator/users/dave%40example.com", "/operator/users/a%20b", "/operator/users/%C3%A9", "/operator/jobs?x=a/b//c", "/admin/" + strings.Repeat("a", 2041),
		} {
			if p, ok := domain.SafeRedirectPath(next); !ok || p != next {
				t.Errorf("SafeRedirectPath(%q) = %q, %v; want it kept", next, p, ok)
			}
		}
	})
}

// FuzzSafeRedirect holds every accepted path to what a browser does with a
// Location header: it stays on this host, whatever decoding comes after.
func FuzzSafeRedirect(f *testing.F) {
	for _, values := range hostileRedirects {
		for _, v := range values {
			f.Add(v)
		}
	}
	for _, v := range []string{"/admin/accounts", "/operator/users?q=a%2Fb", "/operator/users/a%41b", "/"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, next string) {
		p, ok := domain.SafeRedirectPath(next)
		if !ok {
			return
		}
		if p != next || len(p) > 2048 {
			t.Fatalf("SafeRedirectPath(%q) = %q", next, p)
		}
		checkSameHost(t, p)
		path, _, _ := strings.Cut(p, "?")
		decoded, err := url.PathUnescape(path)
		if err != nil {
			t.Fatalf("accepted %q: its path does not decode: %v", p, err)
		}
		if again, _ := url.PathUnescape(decoded); again != decoded {
			t.Fatalf("accepted %q: a second decoding changes %q into %q", p, decoded, again)
		}
		checkSameHost(t, decoded)
	})
}

// checkSameHost fails unless p, read as a Location by Go and by a browser,
// names a path on the current host.
func checkSameHost(t *testing.T, p string) {
	t.Helper()
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		t.Fatalf("accepted %q: url.Parse gives %#v, %v", p, u, err)
	}
	base, _ := url.Parse("https://idm.example/login")
	if got := base.ResolveReference(u); got.Host != "idm.example" || got.Scheme != "https" {
		t.Fatalf("accepted %q: resolves to %s", p, got)
	}
	// What a browser does before parsing: trim C0 controls and spaces at the
	// ends, drop tabs and line breaks, read "\" as "/".
	b := strings.Trim(p, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	b = strings.NewReplacer("\t", "", "\r", "", "\n", "", `\`, "/").Replace(b)
	if b == "" || b[0] != '/' || len(b) > 1 && b[1] == '/' {
		t.Fatalf("accepted %q: a browser reads it as %q", p, b)
	}
}
