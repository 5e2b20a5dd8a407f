package view_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/team-tracking-view/browsertest"
	tracking "github.com/teamtrack/tracking-core"
)

// viewState is what the test hook says of the time bar and the map.
type viewState struct {
	Mode     string                        `json:"mode"`
	Workers  int                           `json:"workers"`
	Received int                           `json:"received"` // live records
	Markers  map[string]browsertest.LatLng `json:"markers"`
	Replay   struct {
		Status    string  `json:"status"`
		Clock     *string `json:"clock"`
		From      string  `json:"from"`
		To        string  `json:"to"`
		Speed     string  `json:"speed"`
		Positions int     `json:"positions"`
		Requests  int     `json:"requests"`
		Message   string  `json:"message"`
	} `json:"replay"`
	Trail struct {
		Status  string              `json:"status"`
		Worker  string              `json:"worker"`
		Points  int                 `json:"points"`
		Pages   int                 `json:"pages"`
		Start   *browsertest.LatLng `json:"start"`
		End     *browsertest.LatLng `json:"end"`
		Message string              `json:"message"`
	} `json:"trail"`
	Banner string `json:"banner"` // the replay banner's text, "" while hidden
}

const readView = `(() => {
	const t = window.__tracking;
	if (!t) return null;
	const banner = document.getElementById("replay-banner");
	return {mode: t.mode, workers: t.workerCount(), received: t.received(), markers: t.markerPositions(),
		replay: t.replay(), trail: t.trail(), banner: banner.hidden ? "" : banner.textContent};
})()`

// The page's clock zone: the range inputs are local time. Fixed at UTC-3
// (no daylight saving time since 2019), so the test can fill them in.
const (
	pageZone   = "America/Sao_Paulo"
	pageOffset = -3 * 60 * 60
)

// Replayed window: 5 workers reporting every 500 ms for 60 s.
const (
	windowWorkers = 5
	windowFixes   = 120
	windowStep    = 500 * time.Millisecond
)

// TestBrowserHistory drives the time bar against a real tracking replica
// with a SQLite history behind a gateway-like proxy: replay (to its end
// at max speed; paused at 1x and resumed at 60x), back to live, a worker's
// trail (one page; and 10,050 positions over two pages), the export links,
// a service without history, and the bar on a narrow screen.
func TestBrowserHistory(t *testing.T) {
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	p := startHistoryPlatform(t)

	// History: the window two hours ago, and a long trail of w9 an hour before.
	from := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	to := from.Add(windowFixes * windowStep)
	replayed := map[string]browsertest.LatLng{} // the last position of each worker in the window
	for i := range windowWorkers {
		w := fmt.Sprintf("w%d", i)
		tr := track(w, from, windowFixes, windowStep, 52.5, 13.4+float64(i)*0.01)
		p.write(t, tr)
		last := tr[len(tr)-1].Location
		replayed[w] = browsertest.LatLng{Lat: last.Latitude, Lng: last.Longitude}
	}
	longFrom := from.Add(-time.Hour)
	const longFixes = 10_050 // more than a page of the view's trail requests (10,000)
	p.write(t, track("w9", longFrom, longFixes, 100*time.Millisecond, 40.0, -3.7))
	// Live: each worker once, now.
	live := func(lat float64) map[string]browsertest.LatLng {
		m := map[string]browsertest.LatLng{}
		var ps []tracking.Position
		for i := range windowWorkers {
			w := fmt.Sprintf("w%d", i)
			m[w] = browsertest.LatLng{Lat: lat + float64(i)*0.001, Lng: 11.5}
			ps = append(ps, tracking.Position{ID: fmt.Sprintf("live-%s-%v", w, lat), WorkerID: w, Team: "team_one",
				Location: tracking.Location{Latitude: m[w].Lat, Longitude: m[w].Lng}, TimeStamp: time.Now().UTC()})
		}
		p.publish(t, ps)
		return m
	}
	firstLive := live(48.0)
	var secondLive map[string]browsertest.LatLng // published while the first replay is shown

	ctx := browsertest.NewPage(t)
	stopConsole := browsertest.CollectConsole(ctx)
	defer func() {
		msgs := stopConsole()
		for _, m := range msgs {
			t.Logf("browser console: %s", m)
		}
		// The service without history: the browser logs its 501s itself.
		err := browsertest.ConsoleErrors(msgs, func(m string) bool {
			return strings.Contains(m, "/tracking/kafka/team_one/") && (strings.Contains(m, "501") || strings.Contains(m, "EventSource"))
		})
		if err != nil {
			t.Error(err)
		}
	}()
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: pageZone}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?strategy=redis&team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	waitView(t, ctx, "the live positions", 10*time.Second, func(s *viewState) bool {
		return s.Mode == "live" && at(s.Markers, firstLive)
	})

	// The range: the window, typed in the page's local time.
	setRange(t, ctx, from, to)
	const replayPath = "/tracking/redis/team_one/replay"

	t.Run("replay to the end at max speed", func(t *testing.T) {
		setValue(t, ctx, "replay-speed", "max")
		click(t, ctx, "replay-play")
		s := waitView(t, ctx, "the replay's end", 10*time.Second, func(s *viewState) bool {
			return s.Replay.Status == "ended" && at(s.Markers, replayed)
		})
		if s.Mode != "replay" || s.Replay.Positions != windowWorkers*windowFixes || s.Replay.Requests != 1 || s.Workers != windowWorkers {
			t.Fatalf("after the end: mode %s, %d positions of %d, %d requests, %d workers", s.Mode, s.Replay.Positions, windowWorkers*windowFixes, s.Replay.Requests, s.Workers)
		}
		if got := *s.Replay.Clock; !sameTime(got, to.Add(-windowStep)) {
			t.Errorf("replay clock %s, want the last fix %s", got, to.Add(-windowStep).Format(time.RFC3339))
		}
		if !strings.Contains(s.Banner, "Replay") {
			t.Errorf("replay banner %q", s.Banner)
		}
		qs := p.requests(replayPath)
		if len(qs) != 1 || !sameTime(qs[0].Get("from"), from) || !sameTime(qs[0].Get("to"), to) || qs[0].Get("speed") != "max" {
			t.Fatalf("replay requests: %v", qs)
		}

		// New live positions meanwhile are held aside, not drawn.
		before := s.Received
		secondLive = live(47.0)
		waitView(t, ctx, "the new live positions received", 5*time.Second, func(s *viewState) bool {
			return s.Received >= before+windowWorkers
		})
		// The EventSource was closed on the end: no reconnect (the
		// server's retry hint is 2 s) replays the window again.
		time.Sleep(3 * time.Second) // a span with nothing expected in it
		s = readState(t, ctx)
		if n := len(p.requests(replayPath)); n != 1 || p.activeReplays() != 0 {
			t.Fatalf("%d replay requests (%d open) 3 s after the end, want the one, closed", n, p.activeReplays())
		}
		if !at(s.Markers, replayed) || s.Mode != "replay" {
			t.Fatalf("while replaying the map shows %v (mode %s), want the replayed positions %v", s.Markers, s.Mode, replayed)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("pause and resume", func(t *testing.T) {
		setValue(t, ctx, "replay-speed", "1")
		click(t, ctx, "replay-play") // ended: from the start again
		waitView(t, ctx, "3 s of the window replayed at 1x", 10*time.Second, func(s *viewState) bool {
			return s.Replay.Status == "playing" && s.Replay.Clock != nil && !parseTime(t, *s.Replay.Clock).Before(from.Add(3*time.Second))
		})
		click(t, ctx, "replay-play") // pause
		paused := waitView(t, ctx, "the pause", 5*time.Second, func(s *viewState) bool { return s.Replay.Status == "paused" })
		waitFor(t, "the replay request to end", 5*time.Second, func() bool { return p.activeReplays() == 0 })
		time.Sleep(1500 * time.Millisecond) // at 1x, 15 positions would come in this span
		s := readState(t, ctx)
		if s.Replay.Positions != paused.Replay.Positions || *s.Replay.Clock != *paused.Replay.Clock || len(p.requests(replayPath)) != 2 {
			t.Fatalf("paused: positions %d -> %d, clock %s -> %s, %d replay requests (want 2)",
				paused.Replay.Positions, s.Replay.Positions, *paused.Replay.Clock, *s.Replay.Clock, len(p.requests(replayPath)))
		}
		if parseTime(t, *s.Replay.Clock).After(from.Add(10 * time.Second)) {
			t.Fatalf("paused at %s: the 1x replay ran too fast", *s.Replay.Clock)
		}
		screenshot(t, ctx, "history-paused")

		// Resume at 60x: from the last fix shown, to the end.
		setValue(t, ctx, "replay-speed", "60")
		click(t, ctx, "replay-play")
		s = waitView(t, ctx, "the resumed replay's end", 10*time.Second, func(s *viewState) bool {
			return s.Replay.Status == "ended" && at(s.Markers, replayed)
		})
		qs := p.requests(replayPath)
		if len(qs) != 3 || !sameTime(qs[2].Get("from"), parseTime(t, *paused.Replay.Clock)) || !sameTime(qs[2].Get("to"), to) || qs[2].Get("speed") != "60" {
			t.Fatalf("resumed with %v, want from=%s (the clock at the pause), speed=60", qs[len(qs)-1], *paused.Replay.Clock)
		}
		if s.Replay.Requests != 2 || s.Replay.Positions < windowWorkers*windowFixes {
			t.Errorf("after the resumed end: %d requests (want 2), %d positions (want >= %d: those at the clock come again)",
				s.Replay.Requests, s.Replay.Positions, windowWorkers*windowFixes)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("back to live", func(t *testing.T) {
		click(t, ctx, "replay-live")
		s := waitView(t, ctx, "the live positions again", 5*time.Second, func(s *viewState) bool {
			return s.Mode == "live" && at(s.Markers, secondLive)
		})
		if s.Banner != "" || s.Workers != windowWorkers {
			t.Errorf("live again: banner %q, %d workers", s.Banner, s.Workers)
		}
	})

	t.Run("trail", func(t *testing.T) {
		setValue(t, ctx, "trail-worker", "w2")
		click(t, ctx, "trail-show")
		s := waitView(t, ctx, "the trail of w2", 10*time.Second, func(s *viewState) bool { return s.Trail.Status == "shown" })
		first := browsertest.LatLng{Lat: 52.5, Lng: 13.42}
		if s.Trail.Worker != "w2" || s.Trail.Points != windowFixes || s.Trail.Pages != 1 ||
			s.Trail.Start == nil || !near(*s.Trail.Start, first) || s.Trail.End == nil || !near(*s.Trail.End, replayed["w2"]) {
			t.Fatalf("trail: %+v; want w2, %d points on 1 page, from %v to %v", s.Trail, windowFixes, first, replayed["w2"])
		}
		if !strings.Contains(s.Trail.Message, "120 positions") {
			t.Errorf("message %q", s.Trail.Message)
		}
		screenshot(t, ctx, "history-trail")
	})

	t.Run("export", func(t *testing.T) {
		for format, contentType := range map[string]string{"gpx": "application/gpx+xml", "geojson": "application/geo+json"} {
			var href string
			waitFor(t, "the "+format+" link", 5*time.Second, func() bool {
				href = evaluate[string](t, ctx, `document.getElementById("export-`+format+`").href`)
				return strings.Contains(href, "worker=w2")
			})
			u := mustParse(t, href)
			q := u.Query()
			if u.Path != "/tracking/redis/team_one/history" || q.Get("format") != format || q.Get("download") != "1" ||
				q.Get("worker") != "w2" || !sameTime(q.Get("from"), from) || !sameTime(q.Get("to"), to) {
				t.Fatalf("%s link %s", format, href)
			}
			resp, err := http.Get(href)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != contentType ||
				!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
				t.Fatalf("GET %s: %d, %s, %s", href, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
			}
			points := strings.Count(string(body), "<trkpt")
			if format == "geojson" {
				var f struct {
					Geometry struct {
						Type        string      `json:"type"`
						Coordinates [][]float64 `json:"coordinates"`
					} `json:"geometry"`
				}
				if err := json.Unmarshal(body, &f); err != nil || f.Geometry.Type != "LineString" {
					t.Fatalf("GeoJSON: %v, %.200s", err, body)
				}
				points = len(f.Geometry.Coordinates)
			}
			if points != windowFixes {
				t.Errorf("the %s export holds %d points, want %d", format, points, windowFixes)
			}
		}
	})

	t.Run("trail over two pages", func(t *testing.T) {
		setRange(t, ctx, longFrom, longFrom.Add(20*time.Minute))
		setValue(t, ctx, "trail-worker", "w9")
		click(t, ctx, "trail-show")
		s := waitView(t, ctx, "the trail of w9", 15*time.Second, func(s *viewState) bool {
			return s.Trail.Status == "shown" && s.Trail.Worker == "w9"
		})
		if s.Trail.Points != longFixes || s.Trail.Pages != 2 {
			t.Fatalf("trail of w9: %d points on %d pages, want %d on 2", s.Trail.Points, s.Trail.Pages, longFixes)
		}
		var pages []url.Values
		for _, q := range p.requests("/tracking/redis/team_one/history") {
			if q.Get("worker") == "w9" {
				pages = append(pages, q)
			}
		}
		if len(pages) != 2 || pages[0].Get("cursor") != "" || pages[1].Get("cursor") == "" {
			t.Fatalf("history requests for w9: %v; want a first page and one with its cursor", pages)
		}
	})

	t.Run("controls are labelled and focusable", func(t *testing.T) {
		// Every control of the bar can take the focus and has a name for screen readers.
		bad := evaluate[[]string](t, ctx, `[...document.querySelectorAll("#timebar :is(button, select, input, a)")].filter((el) => {
			const name = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.textContent.trim();
			return !name || el.tabIndex < 0;
		}).map((el) => el.id)`)
		if len(bad) > 0 {
			t.Errorf("unlabelled or unfocusable controls: %v", bad)
		}
		// The keyboard works them: Enter on the focused Play button starts a replay.
		if err := chromedp.Do(ctx, chromedp.Focus(chromedp.ID("replay-play")), chromedp.KeyEvent("\r")); err != nil {
			t.Fatal(err)
		}
		waitView(t, ctx, "a replay started from the keyboard", 5*time.Second, func(s *viewState) bool { return s.Mode == "replay" })
		if err := chromedp.Do(ctx, chromedp.Focus(chromedp.ID("replay-live")), chromedp.KeyEvent(" ")); err != nil {
			t.Fatal(err)
		}
		waitView(t, ctx, "live again from the keyboard", 5*time.Second, func(s *viewState) bool { return s.Mode == "live" })
	})

	t.Run("narrow screen", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)) }()
		// The bar wraps: nothing is wider than the screen, and Play is on it.
		fits := evaluate[bool](t, ctx, `(() => {
			const play = document.getElementById("replay-play").getBoundingClientRect();
			return document.documentElement.scrollWidth <= window.innerWidth && play.right <= window.innerWidth && play.width > 0;
		})()`)
		if !fits {
			t.Error("at 390 px wide the time bar does not fit the screen")
		}
		screenshot(t, ctx, "history-narrow")
	})

	t.Run("no history", func(t *testing.T) {
		if err := browsertest.ChooseTeam(ctx, "kafka", "team_one"); err != nil {
			t.Fatal(err)
		}
		waitView(t, ctx, "the kafka team", 5*time.Second, func(s *viewState) bool {
			return evaluate[string](t, ctx, "window.__tracking.strategy") == "kafka"
		})
		click(t, ctx, "trail-show")
		s := waitView(t, ctx, "the trail's failure", 5*time.Second, func(s *viewState) bool { return s.Trail.Status == "failed" })
		if !strings.Contains(s.Trail.Message, "not available") {
			t.Errorf("trail message %q, want one saying history is not available", s.Trail.Message)
		}
		click(t, ctx, "replay-play")
		s = waitView(t, ctx, "the replay's failure", 5*time.Second, func(s *viewState) bool { return s.Replay.Status == "failed" })
		if !strings.Contains(s.Replay.Message, "not available") || s.Replay.Requests != 1 || s.Mode != "live" {
			t.Errorf("replay: message %q after %d requests, mode %s; want one request, a message saying history is not available, and back to live",
				s.Replay.Message, s.Replay.Requests, s.Mode)
		}
		screenshot(t, ctx, "history-none")
	})
}

func readState(t *testing.T, ctx context.Context) *viewState {
	t.Helper()
	s := evaluate[*viewState](t, ctx, readView)
	if s == nil {
		t.Fatal("no window.__tracking")
	}
	return s
}

// waitView polls the page until ok holds, failing with what it showed last.
func waitView(t *testing.T, ctx context.Context, what string, timeout time.Duration, ok func(*viewState) bool) *viewState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := evaluate[*viewState](t, ctx, readView)
		if s != nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(s)
			t.Fatalf("timed out after %v waiting for %s; the page shows %.2000s", timeout, what, b)
		}
		time.Sleep(50 * time.Millisecond) // polling the page: it does not signal
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond) // polling
	}
}

func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %.80s: %v", expr, err)
	}
	return v
}

func click(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID(id))); err != nil {
		t.Fatalf("click #%s: %v", id, err)
	}
}

// setValue sets an input's or select's value as a user does (input and change events).
func setValue(t *testing.T, ctx context.Context, id, value string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID(id), value)); err != nil {
		t.Fatalf("set #%s: %v", id, err)
	}
}

// setRange types [from, to) into the range inputs, in the page's zone.
func setRange(t *testing.T, ctx context.Context, from, to time.Time) {
	t.Helper()
	zone := time.FixedZone("page", pageOffset)
	setValue(t, ctx, "range-from", from.In(zone).Format("2006-01-02T15:04:05"))
	setValue(t, ctx, "range-to", to.In(zone).Format("2006-01-02T15:04:05"))
	if got := evaluate[string](t, ctx, `document.getElementById("range-preset").value`); got != "custom" {
		t.Fatalf("range preset %q after typing a range, want custom", got)
	}
}

// at reports whether every worker of want has its marker there.
func at(markers, want map[string]browsertest.LatLng) bool {
	for w, p := range want {
		m, ok := markers[w]
		if !ok || !near(m, p) {
			return false
		}
	}
	return true
}

func near(a, b browsertest.LatLng) bool {
	return math.Abs(a.Lat-b.Lat) < 1e-7 && math.Abs(a.Lng-b.Lng) < 1e-7
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// screenshot writes the page to screenshotPath(name), for people to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(screenshotPath(name), shot, 0o644)
	}
	if err != nil {
		t.Error(err)
	}
}

// sameTime reports whether s (RFC 3339) is the instant want.
func sameTime(s string, want time.Time) bool {
	v, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && v.Equal(want)
}
