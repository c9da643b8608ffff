package testenv

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser starts a headless Chromium with a fresh profile and returns a
// chromedp context for it (one tab). The browser is closed when the test
// ends. Use context.WithTimeout on the result for deadlines.
func Browser(tb testing.TB) context.Context {
	tb.Helper()
	path, err := lookBin("chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
	Require(tb, "chromium", err)
	// Not tb.TempDir: Chromium's helper processes can still write to the
	// profile while it is removed, and a failed TempDir removal fails the test.
	profile, err := os.MkdirTemp("", "idm-testenv-chromium-")
	if err != nil {
		tb.Fatalf("testenv: chromium profile: %v", err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		// Without these Chromium keeps trying hosts that are blocked here.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp logs from its own goroutines; logging through tb after the
	// test has ended panics, so stop forwarding once the cleanup begins.
	var ended atomic.Bool
	logf := func(format string, args ...any) {
		if !ended.Load() {
			tb.Logf("chromedp: "+format, args...)
		}
	}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf))
	tb.Cleanup(func() {
		ended.Store(true)
		cancel()
		cancelAlloc()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	// Start the browser now, so that a broken install is reported here
	// rather than in the test's first action. No timeout on this first call:
	// chromedp ties the browser's life to its context (the allocator gives
	// up by itself if Chromium does not answer within 20s).
	if err := chromedp.Do(ctx); err != nil {
		Require(tb, "chromium", fmt.Errorf("start %s: %w", path, err))
	}
	tb.Logf("testenv: uses chromium %s", path)
	return ctx
}
