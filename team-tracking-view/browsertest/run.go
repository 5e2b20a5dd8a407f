package browsertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// Report is what Check saw.
type Report struct {
	// URL is the page that was opened.
	URL string
	// Page is what the page showed when the first team's checks ended (its
	// markers moved; more than one Connection: the view reconnected), and
	// Moved how many of its markers had moved.
	Page  *PageState
	Moved int
	// Switched is what the page showed after the switch to SwitchTeam.
	Switched *PageState
	// Frames are the animation frame timings, when FrameSample was set.
	Frames *FrameStats
	// Console holds every console message of the page, as "type: text".
	Console []string
	// Screenshot is the path of the screenshot written, if any.
	Screenshot string
}

// startBrowser starts a headless Chromium (1280x800) with a temporary
// profile; stop kills it, waits for it and removes the profile.
func startBrowser(ctx context.Context, chromium string) (browserCtx context.Context, stop func(), err error) {
	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		return nil, nil, fmt.Errorf("browsertest: profile directory: %w", err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // tests often run as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	)...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	stop = func() {
		cancelBrowser()
		cancelAlloc() // kills the browser and waits for it, before the profile goes
		_ = os.RemoveAll(profile)
	}
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser, bound to browserCtx
		stop()
		return nil, nil, fmt.Errorf("browsertest: start %s: %w", chromium, err)
	}
	return browserCtx, stop, nil
}

func run(ctx context.Context, baseURL string, exp Expectations, rep *Report) error {
	q := maps.Clone(exp.Query) // Set replaces values: exp.Query stays as it is
	q.Set("strategy", exp.Strategy)
	q.Set("team", exp.Team)
	rep.URL = strings.TrimSuffix(baseURL, "/") + "/?" + q.Encode()

	exp.Logf("browsertest: open %s", rep.URL)
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(rep.URL)); err != nil {
		return fmt.Errorf("open %s: %w", rep.URL, err)
	}
	exp.Logf("browsertest: page loaded after %v", time.Since(start).Round(time.Millisecond))

	// 1. Every worker of the team is on the map and in the panel. The
	// window starts once the page has loaded: a loaded machine (-race, a
	// busy CI box) can take seconds to load it, which is not the stream's time.
	first, err := WaitFor(ctx, time.Now().Add(exp.Timeout), func(s *PageState) bool {
		return s.complete(exp.Team, exp.Workers)
	})
	if err != nil {
		return fmt.Errorf("worker count of %s: want %d within %v of the page loading: %w", exp.Team, exp.Workers, exp.Timeout, err)
	}
	exp.Logf("browsertest: %d workers of %s shown after %v", first.Workers, exp.Team, time.Since(start).Round(time.Millisecond))

	// 2. The markers move.
	moved, err := WaitFor(ctx, time.Now().Add(exp.Timeout), func(s *PageState) bool {
		return s.Ready && movedFrom(first.Positions, s.Positions) >= exp.MinMoving
	})
	if err != nil {
		return fmt.Errorf("markers of %s: want %d of %d to move within %v: %w", exp.Team, exp.MinMoving, exp.Workers, exp.Timeout, err)
	}
	rep.Page, rep.Moved = moved, movedFrom(first.Positions, moved.Positions)
	exp.Logf("browsertest: %d markers moved", rep.Moved)

	if exp.Screenshot != "" {
		if err := screenshot(ctx, exp.Screenshot); err != nil {
			return err
		}
		rep.Screenshot = exp.Screenshot // Check logs it
	}
	if exp.FrameSample > 0 {
		if rep.Frames, err = sampleFrames(ctx, exp.FrameSample); err != nil {
			return err
		}
		exp.Logf("browsertest: frames with %d workers: %s", exp.Workers, rep.Frames)
	}

	// 3. Another team, chosen through the form, replaces the markers.
	if exp.SwitchTeam == "" {
		return nil
	}
	exp.Logf("browsertest: switch to %s/%s", exp.SwitchStrategy, exp.SwitchTeam)
	switchStart := time.Now()
	if err := ChooseTeam(ctx, exp.SwitchStrategy, exp.SwitchTeam); err != nil {
		return err
	}
	switched, err := WaitFor(ctx, switchStart.Add(exp.Timeout), func(s *PageState) bool {
		return s.complete(exp.SwitchTeam, exp.SwitchWorkers) && s.Strategy == exp.SwitchStrategy
	})
	if err != nil {
		return fmt.Errorf("after switching to %s/%s: want %d workers within %v: %w", exp.SwitchStrategy, exp.SwitchTeam, exp.SwitchWorkers, exp.Timeout, err)
	}
	if slices.Equal(slices.Sorted(maps.Keys(first.Positions)), slices.Sorted(maps.Keys(switched.Positions))) {
		return fmt.Errorf("after switching to %s: the markers are the same workers as %s's", exp.SwitchTeam, exp.Team)
	}
	page, err := url.Parse(switched.Location)
	if err != nil || page.Query().Get("team") != exp.SwitchTeam || page.Query().Get("strategy") != exp.SwitchStrategy {
		return fmt.Errorf("after switching: the page URL %q does not name team=%s and strategy=%s", switched.Location, exp.SwitchTeam, exp.SwitchStrategy)
	}
	rep.Switched = switched
	exp.Logf("browsertest: %d workers of %s shown after %v", switched.Workers, exp.SwitchTeam, time.Since(switchStart).Round(time.Millisecond))
	return nil
}

func movedFrom(before, after map[string]LatLng) int {
	n := 0
	for id, p := range after {
		if q, ok := before[id]; ok && p != q {
			n++
		}
	}
	return n
}

func screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
}

// CollectConsole collects the console messages of the page in ctx (a
// chromedp context, as NewPage gives), as "type: text (url:line)", until
// stop, which returns them. Call it before the navigation.
func CollectConsole(ctx context.Context) (stop func() []string) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var msgs []string                 // read after done is closed
	messages := chromedp.Console(ctx) // subscribes now, before the navigation
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			s := m.String()
			if m.URL != "" {
				s += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			msgs = append(msgs, s)
		}
	}()
	return func() []string {
		cancel()
		<-done
		return msgs
	}
}

// ConsoleErrors returns an error naming the console errors and uncaught
// exceptions among msgs (as CollectConsole gives them), except those allow
// (if not nil) accepts, the browser's line for a 404 of GET /auth/config,
// and its lines for a 501 of the team's geofences or alert events (a
// tracking service without HISTORY_DSN keeps none: the view says so and
// carries on).
func ConsoleErrors(msgs []string, allow func(string) bool) error {
	var errs []error
	for _, m := range msgs {
		isError := strings.HasPrefix(m, string(chromedp.ConsoleError)+":") || strings.HasPrefix(m, string(chromedp.ConsoleException)+":")
		if isError && !noAuthConfig(m) && !noAlertingStore(m) && (allow == nil || !allow(m)) {
			errs = append(errs, errors.New(m))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the page logged %d console errors: %w", len(errs), errors.Join(errs...))
	}
	return nil
}

// noAuthConfig reports whether m is the browser's own log line for a 404 of
// the view's GET /auth/config. A gateway without authentication has no such
// endpoint, and the view then runs without tokens (mode none), as designed;
// the browser logs the 404 all the same.
func noAuthConfig(m string) bool {
	return strings.HasPrefix(m, "error: Failed to load resource: the server responded with a status of 404") &&
		strings.Contains(m, "/auth/config:")
}

// noAlertingStore reports whether m is the browser's own log line for a
// 501 of GET /tracking/{strategy}/{team}/geofences or .../events, which the
// view reads at load: a tracking service without HISTORY_DSN has no
// geofences or alerts, and the view says so in its panels.
func noAlertingStore(m string) bool {
	return strings.HasPrefix(m, "error: Failed to load resource: the server responded with a status of 501") &&
		strings.Contains(m, "/tracking/") && (strings.Contains(m, "/geofences:") || strings.Contains(m, "/events?"))
}
