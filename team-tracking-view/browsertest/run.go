package browsertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// Report is what Run saw.
type Report struct {
	// URL is the page that was opened.
	URL string
	// Workers is the worker count the first team reached; Moved how many of
	// its markers moved.
	Workers int
	Moved   int
	// Connections is how many stream connections the view had opened for
	// the first team when its checks ended (more than one: it reconnected).
	Connections int
	// TilesActive says whether the map still used its tile layer when the
	// first team's checks ended (false: the coordinate grid only, because
	// of tiles=none or because the tiles failed). Notice is the map's notice
	// text, if one shows (the tile fallback announces itself there).
	TilesActive bool
	Notice      string
	// SwitchedWorkers is the worker count after the switch to SwitchTeam.
	SwitchedWorkers int
	// Frames are the animation frame timings, when FrameSample was set.
	Frames *FrameStats
	// Console holds every console message of the page, as "type: text".
	Console []string
	// Screenshot is the path of the screenshot written, if any.
	Screenshot string
}

// Run opens baseURL in a fresh headless Chromium and checks the map against
// exp. It returns the first failed check as an error, with what the page
// showed; the Report is filled as far as the checks got. The browser and
// its temporary profile are gone when Run returns.
func Run(ctx context.Context, baseURL string, exp Expectations) (rep *Report, err error) {
	exp, err = exp.withDefaults()
	if err != nil {
		return nil, err
	}
	rep = &Report{}

	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		return nil, fmt.Errorf("browsertest: profile directory: %w", err)
	}
	defer os.RemoveAll(profile) // after the browser exited (deferred below)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, allocatorOptions(exp, profile)...)
	defer cancelAlloc() // kills the browser and waits for it
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser, bound to browserCtx
		return nil, fmt.Errorf("browsertest: start %s: %w", exp.ChromiumPath, err)
	}

	console := collectConsole(browserCtx)
	defer func() {
		rep.Console = console.stop()
		if err == nil {
			err = consoleErrors(rep.Console, exp.AllowConsole)
		}
		if err != nil && exp.Screenshot != "" && rep.Screenshot == "" {
			// Show what the page looked like when it failed.
			if shotErr := screenshot(browserCtx, exp.Screenshot); shotErr == nil {
				rep.Screenshot = exp.Screenshot
			}
		}
	}()

	err = run(browserCtx, baseURL, exp, rep)
	return rep, err
}

func allocatorOptions(exp Expectations, profile string) []chromedp.ExecAllocatorOption {
	return append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exp.ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // tests often run as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(exp.WindowWidth, exp.WindowHeight),
	)
}

func run(ctx context.Context, baseURL string, exp Expectations, rep *Report) error {
	q := url.Values{}
	for k, v := range exp.Query {
		q[k] = slices.Clone(v)
	}
	q.Set("strategy", exp.Strategy)
	q.Set("team", exp.Team)
	rep.URL = strings.TrimSuffix(baseURL, "/") + "/?" + q.Encode()

	exp.Logf("browsertest: open %s", rep.URL)
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(rep.URL)); err != nil {
		return fmt.Errorf("open %s: %w", rep.URL, err)
	}
	exp.Logf("browsertest: page loaded after %v", time.Since(start).Round(time.Millisecond))

	// 1. Every worker of the team is on the map and in the panel.
	first, err := waitFor(ctx, start.Add(exp.Timeout), func(s *pageState) bool {
		return s.complete(exp.Team, exp.Workers)
	})
	if err != nil {
		return fmt.Errorf("worker count of %s: want %d within %v of opening the page: %w", exp.Team, exp.Workers, exp.Timeout, err)
	}
	rep.Workers = first.Workers
	exp.Logf("browsertest: %d workers of %s shown after %v", first.Workers, exp.Team, time.Since(start).Round(time.Millisecond))

	// 2. The markers move.
	moved, err := waitFor(ctx, time.Now().Add(exp.Timeout), func(s *pageState) bool {
		return s.ready() && movedFrom(first.Positions, s.Positions) >= exp.MinMoving
	})
	if err != nil {
		return fmt.Errorf("markers of %s: want %d of %d to move within %v: %w", exp.Team, exp.MinMoving, exp.Workers, exp.Timeout, err)
	}
	rep.Moved = movedFrom(first.Positions, moved.Positions)
	rep.Connections = moved.Connections
	rep.TilesActive = moved.TilesActive
	rep.Notice = moved.Notice
	exp.Logf("browsertest: %d markers moved", rep.Moved)

	if exp.Screenshot != "" {
		if err := screenshot(ctx, exp.Screenshot); err != nil {
			return err
		}
		rep.Screenshot = exp.Screenshot
		exp.Logf("browsertest: screenshot %s", exp.Screenshot)
	}
	if exp.FrameSample > 0 {
		frames, err := sampleFrames(ctx, exp.FrameSample)
		if err != nil {
			return err
		}
		rep.Frames = frames
		exp.Logf("browsertest: frames with %d workers: %s", exp.Workers, frames)
	}

	// 3. Another team, chosen through the form, replaces the markers.
	if exp.SwitchTeam == "" {
		return nil
	}
	exp.Logf("browsertest: switch to %s/%s", exp.SwitchStrategy, exp.SwitchTeam)
	switchStart := time.Now()
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("strategy"), exp.SwitchStrategy),
		chromedp.SetValue(chromedp.ID("team"), exp.SwitchTeam),
		chromedp.Click(chromedp.CSS(`#watch-form button[type="submit"]`)),
	); err != nil {
		return fmt.Errorf("switch to team %s: %w", exp.SwitchTeam, err)
	}
	switched, err := waitFor(ctx, switchStart.Add(exp.Timeout), func(s *pageState) bool {
		return s.complete(exp.SwitchTeam, exp.SwitchWorkers) && s.Strategy == exp.SwitchStrategy
	})
	if err != nil {
		return fmt.Errorf("after switching to %s/%s: want %d workers within %v: %w", exp.SwitchStrategy, exp.SwitchTeam, exp.SwitchWorkers, exp.Timeout, err)
	}
	if slices.Equal(sortedKeys(first.Positions), sortedKeys(switched.Positions)) {
		return fmt.Errorf("after switching to %s: the markers are the same workers as %s's", exp.SwitchTeam, exp.Team)
	}
	page, err := url.Parse(switched.Location)
	if err != nil || page.Query().Get("team") != exp.SwitchTeam || page.Query().Get("strategy") != exp.SwitchStrategy {
		return fmt.Errorf("after switching: the page URL %q does not name team=%s and strategy=%s", switched.Location, exp.SwitchTeam, exp.SwitchStrategy)
	}
	rep.SwitchedWorkers = switched.Workers
	exp.Logf("browsertest: %d workers of %s shown after %v", switched.Workers, exp.SwitchTeam, time.Since(switchStart).Round(time.Millisecond))
	return nil
}

// pageState is what the test hook (window.__tracking) and the panel say.
type pageState struct {
	Ready       bool              `json:"ready"`
	Team        string            `json:"team"`
	Strategy    string            `json:"strategy"`
	Connected   bool              `json:"connected"`
	Connections int               `json:"connections"`
	Workers     int               `json:"workers"`
	Markers     int               `json:"markers"`
	CountText   string            `json:"countText"`
	Location    string            `json:"location"`
	Positions   map[string]latLng `json:"positions"`
	TilesActive bool              `json:"tilesActive"`
	Notice      string            `json:"notice"`
}

type latLng struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

const readState = `(() => {
	const t = window.__tracking;
	if (!t) return {ready: false, location: location.href};
	const count = document.getElementById("worker-count");
	const notice = document.getElementById("map-notice");
	return {
		ready: true,
		team: t.team,
		strategy: t.strategy,
		connected: t.connected,
		connections: t.connections(),
		workers: t.workerCount(),
		markers: t.markerCount(),
		countText: count ? count.textContent.trim() : "",
		location: location.href,
		positions: t.markerPositions(),
		tilesActive: t.tilesActive(),
		notice: notice && !notice.hidden ? notice.textContent.trim() : "",
	};
})()`

func (s *pageState) ready() bool { return s.Ready }

// complete: the team is shown, connected, with n workers in the state, on
// the map and in the panel.
func (s *pageState) complete(team string, n int) bool {
	return s.Ready && s.Team == team && s.Connected && s.Workers == n && s.Markers == n &&
		len(s.Positions) == n && s.CountText == strconv.Itoa(n)
}

func (s *pageState) String() string {
	if !s.Ready {
		return fmt.Sprintf("no window.__tracking at %s (page not loaded, or the view not built)", s.Location)
	}
	return fmt.Sprintf("team=%s strategy=%s connected=%v connections=%d workers=%d markers=%d #worker-count=%q",
		s.Team, s.Strategy, s.Connected, s.Connections, s.Workers, s.Markers, s.CountText)
}

// waitFor polls the page until ok holds or the deadline passes; the error
// then says what the page showed last.
func waitFor(ctx context.Context, deadline time.Time, ok func(*pageState) bool) (*pageState, error) {
	const interval = 100 * time.Millisecond
	var last *pageState
	for {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[*pageState](readState))
		if err != nil {
			return nil, fmt.Errorf("read the page state: %w", err)
		}
		last = s
		if ok(s) {
			return s, nil
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("timed out; the page shows %s", last)
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("%w; the page shows %s", ctx.Err(), last)
		case <-time.After(interval):
		}
	}
}

func movedFrom(before, after map[string]latLng) int {
	n := 0
	for id, p := range after {
		if q, ok := before[id]; ok && p != q {
			n++
		}
	}
	return n
}

func sortedKeys(m map[string]latLng) []string {
	return slices.Sorted(maps.Keys(m))
}

func screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
}

// console collects the page's console messages in the background.
type console struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	msgs   []chromedp.ConsoleMessage
}

func collectConsole(ctx context.Context) *console {
	ctx, cancel := context.WithCancel(ctx)
	c := &console{cancel: cancel, done: make(chan struct{})}
	messages := chromedp.Console(ctx) // subscribes now, before the navigation
	go func() {
		defer close(c.done)
		for m, err := range messages {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// stop ends the collection and returns the messages as "type: text".
func (c *console) stop() []string {
	c.cancel()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.msgs))
	for _, m := range c.msgs {
		s := m.String()
		if m.URL != "" {
			s += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		out = append(out, s)
	}
	return out
}

// consoleErrors fails on console errors and uncaught exceptions, except
// those allow accepts and a 404 of GET /auth/config (noAuthConfig).
func consoleErrors(msgs []string, allow func(string) bool) error {
	var errs []error
	for _, m := range msgs {
		isError := strings.HasPrefix(m, string(chromedp.ConsoleError)+":") || strings.HasPrefix(m, string(chromedp.ConsoleException)+":")
		if isError && !noAuthConfig(m) && (allow == nil || !allow(m)) {
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
