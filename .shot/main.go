// Throwaway screenshot tool (not committed).
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	base, user, pw := os.Args[1], os.Args[2], os.Args[3]
	widths := strings.Split(os.Args[4], ",")
	paths := os.Args[5:]
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true))
	actx, c1 := chromedp.NewExecAllocator(context.Background(), opts...)
	defer c1()
	ctx, c2 := chromedp.NewContext(actx)
	defer c2()
	ctx, c3 := context.WithTimeout(ctx, 120*time.Second)
	defer c3()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login"), chromedp.SendKeys(chromedp.CSS(`[data-testid=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=password]`), pw), chromedp.Click(chromedp.CSS(`[data-testid=sign-in]`)),
		chromedp.WaitVisible(chromedp.CSS(`main`))); err != nil {
		panic(err)
	}
	for _, p := range paths {
		for _, w := range widths {
			wi, _ := strconv.Atoi(w)
			err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(wi), 800), chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS(`main`)))
			if err != nil {
				panic(err)
			}
			h, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollHeight`))
			buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				panic(err)
			}
			name := fmt.Sprintf("/tmp/shot-%s-%s.png", strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "_").Replace(p), w)
			os.WriteFile(name, buf, 0o644)
			fmt.Println(name, "height", h)
		}
	}
}
