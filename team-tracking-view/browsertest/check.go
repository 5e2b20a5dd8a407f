package browsertest

import (
	"context"
	"testing"
	"time"
)

// Check runs the browser check for a test: it skips without Chromium (fails
// when CI is set), logs progress, console messages and the screenshot path,
// and fails the test on the first failed expectation.
func Check(t testing.TB, baseURL string, exp Expectations) *Report {
	t.Helper()
	if exp.ChromiumPath == "" {
		exp.ChromiumPath = RequireChromium(t)
	}
	if exp.Logf == nil {
		exp.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, baseURL, exp)
	if rep != nil {
		for _, m := range rep.Console {
			t.Logf("browser console: %s", m)
		}
		if rep.Screenshot != "" {
			t.Logf("screenshot: %s", rep.Screenshot)
		}
	}
	if err != nil {
		t.Fatalf("browser check of %s: %v", baseURL, err)
	}
	return rep
}

// NewPage starts a headless Chromium for checks that Check does not make
// (pages that never show workers); it skips like Check without Chromium,
// and the browser is gone when the test ends. Drive it with chromedp,
// WaitFor and ChooseTeam.
func NewPage(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	browserCtx, stop, err := startBrowser(ctx, RequireChromium(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop) // runs before cancel
	return browserCtx
}
