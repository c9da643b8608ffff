package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"idm/internal/testenv"
)

// browserTab is a Chromium tab on the test server of a browser test; every
// failed step fails the test.
type browserTab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// newBrowserTab opens a tab on e's server, for at most 90 seconds.
func newBrowserTab(t *testing.T, e *testEnv) *browserTab {
	t.Helper()
	return newBrowserTabFor(t, e, 90*time.Second)
}

// newBrowserTabFor opens a tab on e's server, for at most d.
func newBrowserTabFor(t *testing.T, e *testEnv, d time.Duration) *browserTab {
	t.Helper()
	ctx, cancel := context.WithTimeout(testenv.Browser(t), d)
	t.Cleanup(cancel)
	return &browserTab{t: t, ctx: ctx, base: e.srv.URL}
}

func (b *browserTab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// text is the text of the element sel, its white space folded.
func (b *browserTab) text(sel string) string {
	return strings.Join(strings.Fields(b.raw(sel)), " ")
}

// trimmed is the text of the element sel without surrounding white space.
func (b *browserTab) trimmed(sel string) string { return strings.TrimSpace(b.raw(sel)) }

func (b *browserTab) raw(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func (b *browserTab) exists(sel string) bool {
	b.t.Helper()
	return evalJS[bool](b.t, b.ctx, fmt.Sprintf("document.querySelector(%q) !== null", sel))
}

// signIn fills in the login form as name.
func (b *browserTab) signIn(name string) {
	b.t.Helper()
	b.run("sign in as "+name,
		chromedp.Navigate(b.base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=username]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=username]`), name),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=password]`), testPassword),
		chromedp.Click(chromedp.CSS(`[data-testid=sign-in]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=signed-in-account]`)),
	)
}

func (b *browserTab) signOut() {
	b.t.Helper()
	b.run("sign out", chromedp.Click(chromedp.CSS(`[data-testid=logout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=username]`)))
}

// evalJS evaluates expr in the page and returns its value.
func evalJS[T any](t *testing.T, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
