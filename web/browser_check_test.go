package web_test

import (
	"os"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The checks every page of the browser tests passes: axe-core finds no
// serious or critical violation, the header fits the width, and the text
// has no space before punctuation.

// widths are the screens the pages must fit: a phone, a laptop, a desktop.
var widths = []int64{360, 1024, 1280}

// axeSource is the vendored axe-core (testdata/axe-core), read once.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile("testdata/axe-core/axe.min.js")
	return string(b), err
})

// setWidth makes the tab's viewport width px wide.
func (b *browserTab) setWidth(px int64) {
	b.t.Helper()
	b.run("set the width", chromedp.EmulateViewport(px, 900))
}

// open navigates to path and waits for the page's main content.
func (b *browserTab) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS(`main`)))
}

// waitFor waits until the page's expression expr is true (for at most 30s).
func (b *browserTab) waitFor(what, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.t.Fatalf("wait for %s (%s): %v", what, expr, err)
	}
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAxe runs axe-core on the page: a serious or critical violation fails
// the test.
func (b *browserTab) checkAxe(page string) {
	t := b.t
	t.Helper()
	src, err := axeSource()
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	if !evalJS[bool](t, b.ctx, `typeof axe !== "undefined"`) {
		evalJS[bool](t, b.ctx, src+"\n;true")
	}
	found := evalJS[[]axeViolation](t, b.ctx, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`,
		chromedp.EvalAwaitPromise)
	for _, v := range found {
		t.Errorf("%s: axe %s (%s): %s, at %s", page, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "; "))
	}
}

// headerItem is where one item of the header sits, and on how many lines.
type headerItem struct {
	Text  string  `json:"text"`
	Left  float64 `json:"left"`
	Right float64 `json:"right"`
	Top   float64 `json:"top"`
	Bot   float64 `json:"bottom"`
	Lines int     `json:"lines"`
}

// checkHeader: every item of the header keeps to one line, on the screen,
// and no two overlap; the page is no wider than the screen.
func (b *browserTab) checkHeader(page string, width int64) {
	t := b.t
	t.Helper()
	items := evalJS[[]headerItem](t, b.ctx, `[...document.querySelectorAll(
		'[data-testid=header] .idm-product, [data-testid=header] .idm-tools > *, [data-testid=sections] a')].map(e => {
		const r = e.getBoundingClientRect(), lh = parseFloat(getComputedStyle(e).lineHeight) || 24;
		return {text: e.textContent.trim().replace(/\s+/g, " "), left: r.left, right: r.right, top: r.top, bottom: r.bottom,
			lines: Math.round(r.height / lh) || 1};
	})`)
	if len(items) == 0 {
		t.Errorf("%s at %dpx: no header items", page, width)
	}
	for i, it := range items {
		if it.Lines > 1 && it.Text != "" && !strings.Contains(it.Text, "Identity Manager") {
			t.Errorf("%s at %dpx: header item %q wraps onto %d lines", page, width, it.Text, it.Lines)
		}
		if it.Left < 0 || it.Right > float64(width) {
			t.Errorf("%s at %dpx: header item %q leaves the screen (%.0f–%.0f)", page, width, it.Text, it.Left, it.Right)
		}
		for _, o := range items[i+1:] {
			if it.Left < o.Right-1 && o.Left < it.Right-1 && it.Top < o.Bot-1 && o.Top < it.Bot-1 {
				t.Errorf("%s at %dpx: header items %q and %q overlap", page, width, it.Text, o.Text)
			}
		}
	}
	if w := evalJS[float64](t, b.ctx, `document.documentElement.scrollWidth`); w > float64(width) {
		wide := evalJS[[]string](t, b.ctx, `[...document.querySelectorAll("main *")].filter(e => e.getBoundingClientRect().right > innerWidth &&
			![...e.children].some(c => c.getBoundingClientRect().right > innerWidth) && !e.closest(".idm-scroll"))
			.slice(0, 3).map(e => e.tagName.toLowerCase() + "." + e.className + " " + e.textContent.trim().slice(0, 40))`)
		t.Errorf("%s at %dpx: the page is %.0fpx wide, past the screen: %q", page, width, w, wide)
	}
}

// checkVoice: no space before punctuation, no raw state (on_hold) in the
// page's text.
func (b *browserTab) checkVoice(page string) {
	t := b.t
	t.Helper()
	bad := evalJS[[]string](t, b.ctx, `(() => {
		// Expressions and codes are quoted as they are: not read.
		const quoted = [...document.querySelectorAll("main code, main pre")];
		const kept = quoted.map(e => e.innerHTML);
		quoted.forEach(e => e.textContent = "code");
		const s = document.querySelector("main").innerText;
		quoted.forEach((e, i) => e.innerHTML = kept[i]);
		return [...s.matchAll(/.{0,30}(?: [.,;:!?](?=\s|$)|\b(?:on_hold|succeeded_with_errors|safety_stop|given_name|display_name|employee_number|directory_id)\b).{0,10}/g)].map(m => m[0]); })()`)
	for _, m := range bad {
		t.Errorf("%s: the text reads %q", page, m)
	}
}

// checkPage runs the page checks at the tab's current width.
func (b *browserTab) checkPage(page string, width int64) {
	b.t.Helper()
	b.checkHeader(page, width)
	b.checkVoice(page)
	// axe on the widest screen, and on the narrowest where the page has
	// boxes that scroll or open (what changes on a phone); each run takes a
	// while.
	if width == widths[len(widths)-1] || width == widths[0] && b.exists(`main .idm-scroll, main details`) {
		b.checkAxe(page)
	}
}

// focusRing is the focused element and its focus indicator.
type focusRing struct {
	TestID   string  `json:"testid"`
	Tag      string  `json:"tag"`
	Width    float64 `json:"width"`
	Contrast float64 `json:"contrast"`
}

// focused describes the focused element: its outline's width and the
// outline's contrast against what is behind the element.
func (b *browserTab) focused() focusRing {
	return evalJS[focusRing](b.t, b.ctx, `(() => {
		const e = document.activeElement, cs = getComputedStyle(e);
		const rgb = c => (c.match(/[\d.]+/g) || [0, 0, 0, 0]).map(Number);
		const lum = ([r, g, b]) => { const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
			return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
		let bg = [255, 255, 255], p = e.parentElement;
		for (; p; p = p.parentElement) { const c = rgb(getComputedStyle(p).backgroundColor); if (c.length < 4 || c[3] > 0) { bg = c; break; } }
		const a = lum(rgb(cs.outlineColor)), z = lum(bg);
		return {testid: e.dataset.testid || "", tag: e.tagName.toLowerCase(),
			width: cs.outlineStyle === "none" ? 0 : parseFloat(cs.outlineWidth),
			contrast: (Math.max(a, z) + 0.05) / (Math.min(a, z) + 0.05)};
	})()`)
}

// tabTo presses Tab until the element with data-testid id has the focus,
// checking on the way that every focused element shows a ring of at least
// 2px at 3:1 contrast.
func (b *browserTab) tabTo(id string) {
	t := b.t
	t.Helper()
	for range 60 {
		b.run("press Tab", chromedp.KeyEvent(kb.Tab))
		f := b.focused()
		if f.Tag == "body" {
			continue // the focus went round, through the browser's own controls
		}
		if f.Width < 2 || f.Contrast < 3 {
			t.Errorf("focused %s %q: ring %.1fpx at %.1f:1, want at least 2px at 3:1", f.Tag, f.TestID, f.Width, f.Contrast)
		}
		if f.TestID == id {
			return
		}
	}
	t.Fatalf("Tab never reached %q", id)
}

// press sends keys to the focused element.
func (b *browserTab) press(keys string) {
	b.t.Helper()
	b.run("press "+keys, chromedp.KeyEvent(keys))
}

// submit clicks sel and waits for the next page's element want: the page
// the click left is marked first, so that its own want does not count.
func (b *browserTab) submit(what, sel, want string) {
	b.t.Helper()
	evalJS[bool](b.t, b.ctx, `(document.body.dataset.left = "yes", true)`)
	b.run(what, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(`body:not([data-left]) `+want)))
}
