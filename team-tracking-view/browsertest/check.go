package browsertest

import (
	"context"
	"testing"
	"time"
)

// Check opens baseURL in a fresh headless Chromium and checks the map
// against exp. It fails the test on the first failed check, with what the
// page showed, and skips it without Chromium (fails when CI is set). It
// logs progress, console messages and the screenshot path. The browser and
// its temporary profile are gone when Check returns.
func Check(t testing.TB, baseURL string, exp Expectations) *Report {
	t.Helper()
	exp, err := exp.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if exp.ChromiumPath == "" {
		exp.ChromiumPath = RequireChromium(t)
	}
	if exp.Logf == nil {
		exp.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	browserCtx, stop, err := startBrowser(ctx, exp.ChromiumPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	rep := &Report{}
	stopConsole := CollectConsole(browserCtx)
	err = run(browserCtx, baseURL, exp, rep)
	rep.Console = stopConsole()
	for _, m := range rep.Console {
		t.Logf("browser console: %s", m)
	}
	if err == nil {
		err = ConsoleErrors(rep.Console, exp.AllowConsole)
	}
	if err != nil && exp.Screenshot != "" && rep.Screenshot == "" {
		// Show what the page looked like when it failed.
		if screenshot(browserCtx, exp.Screenshot) == nil {
			rep.Screenshot = exp.Screenshot
		}
	}
	if rep.Screenshot != "" {
		t.Logf("screenshot: %s", rep.Screenshot)
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
	return NewPageTimeout(t, 2*time.Minute)
}

// NewPageTimeout is NewPage for a check that may take longer than two
// minutes on a loaded machine: the browser is stopped after d.
func NewPageTimeout(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	browserCtx, stop, err := startBrowser(ctx, RequireChromium(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop) // runs before cancel
	return browserCtx
}
