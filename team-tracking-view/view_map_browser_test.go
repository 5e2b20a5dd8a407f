package view_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/teamtrack/team-tracking-view/browsertest"
)

// mapLayout is window.__tracking.layout(): what the marker canvas drew last.
type mapLayout struct {
	Zoom     float64 `json:"zoom"`
	Markers  int     `json:"markers"`
	Outside  int     `json:"outside"`
	Selected string  `json:"selected"`
	Clusters []struct {
		X, Y  float64
		Count int
		IDs   []string `json:"ids"`
	} `json:"clusters"`
	Labels []labelBox `json:"labels"`
}

type labelBox struct {
	ID         string `json:"id"`
	X, Y, W, H float64
}

// zoomMap zooms the map to zoom with its zoom buttons, one level at a
// time, and waits until the marker canvas drew it.
func zoomMap(t *testing.T, ctx context.Context, zoom float64) {
	t.Helper()
	layout := func() *mapLayout { return evaluate[*mapLayout](t, ctx, "window.__tracking.layout()") }
	for i := 0; i < 20; i++ {
		cur := evaluate[float64](t, ctx, "window.__tracking.mapView().zoom")
		if cur == zoom {
			break
		}
		button := ".leaflet-control-zoom-out"
		if cur < zoom {
			button = ".leaflet-control-zoom-in"
		}
		// Leaflet ignores a zoom asked for while one is animated: click
		// again when the zoom did not change within a second.
		deadline := time.Now().Add(15 * time.Second)
		for changed := false; !changed; {
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(button))); err != nil {
				t.Fatal(err)
			}
			for retry := time.Now().Add(time.Second); !changed && time.Now().Before(retry); {
				z := evaluate[float64](t, ctx, "window.__tracking.mapView().zoom")
				// Changed, and drawn at the new zoom (the animation ended).
				changed = z != cur && layout().Zoom == z
				time.Sleep(50 * time.Millisecond) // polling
			}
			if !changed && time.Now().After(deadline) {
				t.Fatalf("zoom still %v after clicks on %s", cur, button)
			}
		}
	}
	waitFor(t, fmt.Sprintf("zoom %v drawn", zoom), 10*time.Second, func() bool { return layout().Zoom == zoom })
}

// clustered returns how many workers the clusters hold, each once.
func (l *mapLayout) clustered(t *testing.T) int {
	t.Helper()
	seen := map[string]bool{}
	n := 0
	for _, c := range l.Clusters {
		if c.Count != len(c.IDs) || c.Count < 2 {
			t.Errorf("a cluster counts %d but holds %d workers (a cluster has 2 or more)", c.Count, len(c.IDs))
		}
		for _, id := range c.IDs {
			if seen[id] {
				t.Errorf("%s is in two clusters", id)
			}
			seen[id] = true
		}
		n += c.Count
	}
	return n
}

// overlaps returns the pairs of labels whose boxes overlap.
func overlaps(labels []labelBox) []string {
	var bad []string
	for i, a := range labels {
		for _, b := range labels[i+1:] {
			if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
				bad = append(bad, fmt.Sprintf("%s %v / %s %v", a.ID, a, b.ID, b))
			}
		}
	}
	return bad
}

var artifactsOnce sync.Once

// artifactPath is where a test artefact (a screenshot) goes:
// $TEST_ARTIFACTS_DIR, else $VIEW_SCREENSHOT_DIR, else a directory under
// the temporary directory; the test logs it.
func artifactPath(t *testing.T, name string) string {
	dir := cmp.Or(os.Getenv("TEST_ARTIFACTS_DIR"), os.Getenv("VIEW_SCREENSHOT_DIR"), filepath.Join(os.TempDir(), "team-tracking-view-artifacts"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	artifactsOnce.Do(func() { t.Logf("artefacts in %s", dir) })
	return filepath.Join(dir, "team-tracking-view-"+name+".png")
}

func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(artifactPath(t, name), shot, 0o644)
	}
	if err != nil {
		t.Error(err)
	}
}

// TestBrowserMap is the manager's map with 500 workers of one team and a
// tile server that cannot be reached: the bundled basemap is drawn, the
// team is fitted, labels never overlap, clusters account for every worker
// and split when clicked, the list's search finds a worker and selects it
// (its card, ringed on the map), the follow toggle keeps it centred, and
// the page fits a phone's screen with its panel collapsed.
func TestBrowserMap(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: 500 workers")
	}
	const n = 500
	const team = "team_big"
	fake := &fakeTracking{teams: map[string]int{team: n}, interval: time.Second}
	srv := fake.serve(t)
	// Many steps, each waiting on the page: minutes under -race on a busy machine.
	ctx := browsertest.NewPageTimeout(t, 6*time.Minute)
	stopConsole := browsertest.CollectConsole(ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 720)); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"team": {team}, "tiles": {srv.URL + "/tiles/broken/{z}/{x}/{y}.png"}}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?"+q.Encode())); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.WaitFor(ctx, time.Now().Add(30*time.Second), func(s *browsertest.PageState) bool {
		return s.Ready && s.Connected && s.Workers == n && s.Markers == n
	}); err != nil {
		t.Fatal(err)
	}
	layout := func() *mapLayout { return evaluate[*mapLayout](t, ctx, "window.__tracking.layout()") }

	zoomTo := func(t *testing.T, zoom float64) { t.Helper(); zoomMap(t, ctx, zoom) }

	t.Run("team fitted", func(t *testing.T) {
		// Every marker is drawn, none outside the canvas, on the first load.
		waitFor(t, "every worker in view", 10*time.Second, func() bool {
			l := layout()
			return l.Outside == 0 && l.Markers+l.clustered(t) == n && evaluate[bool](t, ctx, `(() => {
				const t = window.__tracking, r = document.getElementById("map").getBoundingClientRect();
				return Object.values(t.markerPositions()).every((p) => {
					const q = t.pagePoint(p.lat, p.lng);
					return q.x >= r.left && q.x <= r.right && q.y >= r.top && q.y <= r.bottom;
				});
			})()`)
		})
		saveScreenshot(t, ctx, "map-1280x720-fitted")
	})

	t.Run("basemap without tiles", func(t *testing.T) {
		waitFor(t, "the basemap drawn with land where the team is", 15*time.Second, func() bool {
			return evaluate[bool](t, ctx, `(() => {
				const t = window.__tracking, b = t.basemap();
				return !t.tilesActive() && b !== null && b.status === "loaded" && b.landTiles > 0 && t.basemapAt(52.52, 13.405) === "land";
			})()`)
		})
		b := evaluate[map[string]any](t, ctx, "window.__tracking.basemap()")
		if polys, _ := b["landPolygons"].(float64); polys < 100 {
			t.Errorf("basemap %v: want the 1:110m land (over 100 polygons)", b)
		}
	})

	t.Run("clusters at low zoom", func(t *testing.T) {
		zoomTo(t, 3)
		l := layout()
		if got := l.clustered(t); got+l.Markers != n || len(l.Clusters) == 0 {
			t.Fatalf("zoom 3: %d clusters holding %d workers and %d markers; want clusters accounting for all %d", len(l.Clusters), got, l.Markers, n)
		}
		// The world basemap at this zoom: the Atlantic is sea, Germany land.
		if sea, land := evaluate[string](t, ctx, "window.__tracking.basemapAt(35, -40)"), evaluate[string](t, ctx, "window.__tracking.basemapAt(51, 10.5)"); sea != "sea" || land != "land" {
			t.Errorf("basemap at zoom 3: mid-Atlantic %q, central Germany %q; want sea and land", sea, land)
		}
		saveScreenshot(t, ctx, "map-1280x720-world")
		// A click on the biggest cluster zooms in: it splits.
		c := slices.MaxFunc(l.Clusters, func(a, b struct {
			X, Y  float64
			Count int
			IDs   []string `json:"ids"`
		}) int {
			return a.Count - b.Count
		})
		r := evaluate[map[string]float64](t, ctx, `(() => { const r = document.getElementById("map").getBoundingClientRect(); return {x: r.left, y: r.top}; })()`)
		if err := chromedp.Do(ctx, chromedp.MouseClickXY(r["x"]+c.X, r["y"]+c.Y)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the cluster to split", 10*time.Second, func() bool {
			l := layout()
			return l.Zoom > 3 && len(l.Clusters)+l.Markers > 1 && l.clustered(t)+l.Markers+l.Outside == n
		})
	})

	t.Run("labels do not overlap", func(t *testing.T) {
		// At 16 beside clusters, at 18 every worker on its own (those in
		// view); several repaints each while the workers move.
		for _, zoom := range []float64{18, 16} {
			zoomTo(t, zoom)
			shown := 0
			for i := range 3 {
				l := layout()
				if bad := overlaps(l.Labels); len(bad) > 0 {
					t.Fatalf("zoom %v, repaint %d: %d overlapping labels, e.g. %s", zoom, i, len(bad), bad[0])
				}
				if got := l.Markers + l.clustered(t) + l.Outside; got != n {
					t.Errorf("zoom %v, repaint %d: %d markers + clustered + outside, want %d", zoom, i, got, n)
				}
				if zoom == 18 && len(l.Clusters) > 0 {
					t.Errorf("zoom 18: %d clusters, want none", len(l.Clusters))
				}
				shown = max(shown, len(l.Labels))
				before := evaluate[float64](t, ctx, "window.__tracking.received()")
				waitFor(t, "more positions", 10*time.Second, func() bool {
					return evaluate[float64](t, ctx, "window.__tracking.received()") >= before+n
				})
			}
			if shown == 0 {
				t.Errorf("no label drawn at zoom %v", zoom)
			}
			t.Logf("zoom %v: up to %d labels", zoom, shown)
			saveScreenshot(t, ctx, fmt.Sprintf("map-1280x720-zoom%v", zoom))
		}
	})

	const picked = team + "-w137"
	t.Run("search selects", func(t *testing.T) {
		// At zoom 16 (from the labels' check) a worker moves about 3 px/s:
		// the map is centred on it when selected, and it drifts slowly.
		zoomTo(t, 16)
		search(t, ctx, "w137", false)
		waitFor(t, "one row matching", 5*time.Second, func() bool {
			return evaluate[string](t, ctx, `document.getElementById("workers").dataset.shown`) == "1"
		})
		visible := evaluate[[]string](t, ctx, `[...document.querySelectorAll("#workers li[data-worker-id]")].filter((li) => !li.hidden).map((li) => li.dataset.workerId)`)
		if !slices.Equal(visible, []string{picked}) {
			t.Fatalf("rows shown for w137: %q", visible)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#workers li[data-worker-id="`+picked+`"] .worker-id`))); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if t.Failed() {
				t.Logf("selected %q, card %v, off centre %.1f px", evaluate[string](t, ctx, "String(window.__tracking.selected())"),
					evaluate[map[string]any](t, ctx, "window.__tracking.card()"), offCentre(t, ctx, picked))
				l := layout()
				t.Logf("layout: zoom %v, selected %q, %d labels (first %v)", l.Zoom, l.Selected, len(l.Labels), l.Labels[:min(1, len(l.Labels))])
			}
		}()
		waitFor(t, "the worker selected, its card filled, centred", 10*time.Second, func() bool {
			card := evaluate[map[string]any](t, ctx, "window.__tracking.card()")
			l := layout()
			return evaluate[string](t, ctx, "window.__tracking.selected()") == picked &&
				card["open"] == true && card["worker"] == picked && strings.Contains(card["speed"].(string), "m/s") &&
				strings.Contains(card["heading"].(string), "°") && strings.HasPrefix(card["accuracy"].(string), "±") &&
				card["fix"].(string) != "" && card["status"].(string) != "" &&
				l.Selected == picked && len(l.Labels) > 0 && l.Labels[0].ID == picked && offCentre(t, ctx, picked) < 30
		})
		if bad := overlaps(layout().Labels); len(bad) > 0 {
			t.Errorf("%d overlapping labels, e.g. %s", len(bad), bad[0])
		}
		// Keyboard: Enter in the search selects the first match.
		search(t, ctx, "w42", true)
		waitFor(t, "w42 selected from the keyboard", 5*time.Second, func() bool {
			return evaluate[string](t, ctx, "window.__tracking.selected()") == team+"-w42"
		})
		search(t, ctx, "w137", true)
		waitFor(t, "w137 selected again", 5*time.Second, func() bool {
			return evaluate[string](t, ctx, "window.__tracking.selected()") == picked
		})
	})

	t.Run("follow keeps it centred", func(t *testing.T) {
		click(t, ctx, "card-follow")
		waitFor(t, "following", 5*time.Second, func() bool {
			return evaluate[string](t, ctx, "window.__tracking.following()") == picked && offCentre(t, ctx, picked) < 2
		})
		start := evaluate[map[string]browsertest.LatLng](t, ctx, "window.__tracking.markerPositions()")[picked]
		worst := 0.0
		waitFor(t, "the worker to move 20 m while followed", 20*time.Second, func() bool {
			worst = max(worst, offCentre(t, ctx, picked))
			p := evaluate[map[string]browsertest.LatLng](t, ctx, "window.__tracking.markerPositions()")[picked]
			return metres(start, p) >= 20
		})
		if worst > 2 {
			t.Errorf("followed worker up to %.1f px off the map's centre, want under 2", worst)
		}
		saveScreenshot(t, ctx, "map-1280x720")
	})

	t.Run("controls labelled and focusable", func(t *testing.T) {
		bad := evaluate[[]string](t, ctx, `["worker-search", "worker-sort", "card-follow", "card-close", "panel-toggle", "labels", "fit"].filter((id) => {
			const el = document.getElementById(id);
			const name = (el.labels && el.labels.length > 0 ? el.labels[0].textContent : "") || el.getAttribute("aria-label") || el.textContent;
			return !name.trim() || el.tabIndex < 0;
		})`)
		if len(bad) > 0 {
			t.Errorf("controls without a name or not focusable: %q", bad)
		}
		// Sorting by status keeps every row, in status order.
		setValue(t, ctx, "worker-sort", "status")
		search(t, ctx, "", false)
		waitFor(t, "rows sorted by status", 5*time.Second, func() bool {
			return evaluate[bool](t, ctx, `(() => {
				const rank = {online: 0, idle: 1, offline: 2};
				const rows = [...document.querySelectorAll("#workers li[data-worker-id]")];
				return rows.length === 500 && rows.every((li, i) => i === 0 || rank[rows[i - 1].dataset.status] <= rank[li.dataset.status]);
			})()`)
		})
	})

	t.Run("dark mode", func(t *testing.T) {
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		}); err != nil {
			t.Fatal(err)
		}
		// The page, the panel and the card go dark, and the basemap is
		// drawn again in its dark colours (land still reads as land).
		waitFor(t, "dark colours", 10*time.Second, func() bool {
			return evaluate[bool](t, ctx, `(() => {
				const dark = (el) => {
					const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\d+/g).map(Number);
					return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 < 0.25;
				};
				const p = window.__tracking.markerPositions()[`+strconv.Quote(picked)+`];
				return dark(document.body) && dark(document.getElementById("panel")) && dark(document.getElementById("worker-card")) &&
					window.__tracking.basemapAt(p.lat, p.lng + 0.01) === "land";
			})()`)
		})
		saveScreenshot(t, ctx, "map-1280x720-dark")
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}},
		}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("phone", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		click(t, ctx, "panel-toggle") // open at load on a wide screen: this collapses it
		waitFor(t, "the panel collapsed, the map taller", 5*time.Second, func() bool {
			return evaluate[bool](t, ctx, `(() => {
				const panel = document.getElementById("panel"), map = document.getElementById("map").getBoundingClientRect();
				return document.body.dataset.panel === "collapsed" && panel.getBoundingClientRect().height === 0 &&
					map.height > 500 && map.width <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth;
			})()`)
		})
		saveScreenshot(t, ctx, "map-390x844")
		click(t, ctx, "panel-toggle")
		waitFor(t, "the panel open again", 5*time.Second, func() bool {
			return evaluate[bool](t, ctx, `document.body.dataset.panel === "open" && document.getElementById("panel").getBoundingClientRect().height > 100 && document.documentElement.scrollWidth <= window.innerWidth`)
		})
		saveScreenshot(t, ctx, "map-390x844-panel")
	})

	// The only console errors are the failed tiles (the browser logs each).
	if err := browsertest.ConsoleErrors(stopConsole(), func(m string) bool {
		return strings.Contains(m, "Failed to load resource") && strings.Contains(m, "/tiles/broken/")
	}); err != nil {
		t.Error(err)
	}
}

// search types text into the list's search field (replacing what it
// held), and then Enter when enter is set.
func search(t *testing.T, ctx context.Context, text string, enter bool) {
	t.Helper()
	evaluate[bool](t, ctx, `(() => { const el = document.getElementById("worker-search"); el.value = ""; el.dispatchEvent(new Event("input")); return true; })()`)
	keys := text
	if enter {
		keys += "\r"
	}
	if keys == "" {
		return
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("worker-search"), keys)); err != nil {
		t.Fatal(err)
	}
}

// offCentre is how far (CSS px) the worker's marker is from the map's centre.
func offCentre(t *testing.T, ctx context.Context, id string) float64 {
	t.Helper()
	return evaluate[float64](t, ctx, `(() => {
		const t = window.__tracking, v = t.mapView(), p = t.markerPositions()[`+strconv.Quote(id)+`];
		if (!p) return 1e9;
		const a = t.pagePoint(v.lat, v.lng), b = t.pagePoint(p.lat, p.lng);
		return Math.hypot(a.x - b.x, a.y - b.y);
	})()`)
}

// metres between two positions (equirectangular: fine over a few km).
func metres(a, b browsertest.LatLng) float64 {
	const r = 6_371_000
	lat := (a.Lat + b.Lat) / 2 * math.Pi / 180
	dx := (b.Lng - a.Lng) * math.Pi / 180 * math.Cos(lat)
	dy := (b.Lat - a.Lat) * math.Pi / 180
	return r * math.Hypot(dx, dy)
}

// TestBrowserMapConflation is a stream that writes each worker's last five
// positions every 200 ms (a worker reporting faster than the server's
// flush interval). From the stream's Web Worker the page applies each
// worker's newest per batch: far fewer records than it receives, every
// worker still updated, the rate counting every record. With trails on it
// applies every position (the trails draw them all), and off again each
// worker's newest.
func TestBrowserMapConflation(t *testing.T) {
	const workers, burst = 20, 5
	fake := &fakeTracking{teams: map[string]int{"team_c": workers}, burst: burst}
	srv := fake.serve(t)
	ctx := browsertest.NewPage(t)
	stopConsole := browsertest.CollectConsole(ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?team=team_c&tiles=none")); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.WaitFor(ctx, time.Now().Add(15*time.Second), func(s *browsertest.PageState) bool {
		return s.Ready && s.Connected && s.Workers == workers && s.Markers == workers
	}); err != nil {
		t.Fatal(err)
	}
	counts := func() (received, applied float64) {
		c := evaluate[[]float64](t, ctx, "[window.__tracking.received(), window.__tracking.applied()]")
		return c[0], c[1]
	}
	// over returns what arrived and what was applied while at least n
	// records arrived.
	over := func(n float64) (received, applied float64) {
		r0, a0 := counts()
		waitFor(t, fmt.Sprintf("%.0f more records", n), 15*time.Second, func() bool {
			r, _ := counts()
			return r >= r0+n
		})
		r1, a1 := counts()
		return r1 - r0, a1 - a0
	}
	const round = 3 * workers * burst // three writes of the stream

	conflated := func(when string) {
		t.Helper()
		r, a := over(round)
		t.Logf("%s: %.0f of %.0f records applied", when, a, r)
		if a > r/2 || a < workers {
			t.Errorf("%s: %.0f of %.0f records applied; want each worker's newest per batch (at most half, at least %d)", when, a, r, workers)
		}
	}
	conflated("trails off")
	// The rate counts every record received: 20 workers x 5 per 200 ms.
	const wantRate = workers * burst * 5
	waitFor(t, "the rate of every record", 10*time.Second, func() bool {
		rate, err := strconv.ParseFloat(evaluate[string](t, ctx, `document.getElementById("rate").dataset.rate`), 64)
		return err == nil && rate > 0.7*wantRate && rate < 1.3*wantRate
	})

	clickCSS(t, ctx, "#trails")
	// Once the stream worker took the switch (a round trip), every record is applied.
	waitFor(t, "every record applied with trails on", 15*time.Second, func() bool {
		r, a := over(workers * burst)
		return r == a
	})
	if r, a := over(round); r != a {
		t.Errorf("trails on: %.0f of %.0f records applied; want all", a, r)
	}
	if loc := evaluate[string](t, ctx, "location.search"); !strings.Contains(loc, "trails=1") {
		t.Errorf("URL %q does not say trails=1", loc)
	}

	clickCSS(t, ctx, "#trails")
	waitFor(t, "each worker's newest again with trails off", 15*time.Second, func() bool {
		r, a := over(workers * burst)
		return a <= r/2
	})
	conflated("trails off again")
	if err := browsertest.ConsoleErrors(stopConsole(), nil); err != nil {
		t.Error(err)
	}
}

// frameRecorder wraps requestAnimationFrame before the page's scripts run:
// each callback's duration (performance.now() around it) is recorded, so
// the script time of the map's frames can be read next to the intervals
// between frames.
const frameRecorder = `(() => {
	const raf = window.requestAnimationFrame.bind(window);
	window.__frameWork = [];
	window.requestAnimationFrame = (cb) => raf((t) => {
		const start = performance.now();
		try { cb(t); } finally { window.__frameWork.push(performance.now() - start); }
	});
})()`

// TestBrowserMapFrameTimes measures how smoothly the map runs with 500 and
// 2,000 workers of one team each sending 10 positions a second (the fake
// stream), over 10 s each: the p95 of the intervals between animation
// frames and of the script time per frame (performance.now()). Opt-in
// (VIEW_FRAME_BENCH=1; VIEW_FRAME_BENCH_WORKERS=10,500 for other team
// sizes; VIEW_FRAME_BENCH_QUERY=stream=main adds page parameters, here to
// read the stream on the page's main thread rather than in its Web Worker;
// VIEW_FRAME_BENCH_ZOOM=16 measures at that zoom rather than the team
// fitted, where more workers are drawn on their own, with labels):
// a measurement, not a check; it logs the figures and asserts nothing about
// them. Beside them: what the fake stream wrote, what the map drew, and
// the CPU the browser used by process and thread (/proc; the page's main
// thread is renderer/chromium, the stream's worker renderer/DedicatedWorker);
// VIEW_FRAME_BENCH_PROFILE=1 adds the page's JavaScript profile and
// VIEW_FRAME_BENCH_TRACE=1 a summary of a trace of its main thread.
func TestBrowserMapFrameTimes(t *testing.T) {
	if os.Getenv("VIEW_FRAME_BENCH") == "" {
		t.Skip("set VIEW_FRAME_BENCH=1 to measure frame times")
	}
	sizes := []int{500, 2000}
	if v := os.Getenv("VIEW_FRAME_BENCH_WORKERS"); v != "" {
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				t.Fatalf("VIEW_FRAME_BENCH_WORKERS=%q: want worker counts separated by commas, e.g. 500,2000", v)
			}
			sizes = append(sizes, n)
		}
	}
	var zoom float64
	if v := os.Getenv("VIEW_FRAME_BENCH_ZOOM"); v != "" {
		z, err := strconv.Atoi(v)
		if err != nil || z < 2 || z > 19 {
			t.Fatalf("VIEW_FRAME_BENCH_ZOOM=%q: want a zoom from 2 to 19, e.g. 16", v)
		}
		zoom = float64(z)
	}
	for _, n := range sizes {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			fake := &fakeTracking{teams: map[string]int{"team_big": n}, interval: 100 * time.Millisecond}
			srv := fake.serve(t)
			ctx := browsertest.NewPage(t)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 720)); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: frameRecorder}); err != nil {
				t.Fatal(err)
			}
			query := "team=team_big&tiles=none"
			if extra := os.Getenv("VIEW_FRAME_BENCH_QUERY"); extra != "" {
				query += "&" + extra
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?"+query)); err != nil {
				t.Fatal(err)
			}
			if _, err := browsertest.WaitFor(ctx, time.Now().Add(30*time.Second), func(s *browsertest.PageState) bool {
				return s.Ready && s.Connected && s.Workers == n && s.Markers == n
			}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second) // measurement, not synchronisation: let the first fit settle
			if zoom != 0 {
				zoomMap(t, ctx, zoom)
				time.Sleep(time.Second) // measurement: the first repaints at the new zoom pass
			}
			var stopProfile func(int) (string, error)
			if os.Getenv("VIEW_FRAME_BENCH_PROFILE") != "" {
				var err error
				if stopProfile, err = startProfile(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var stopTrace func(int) (string, error)
			if os.Getenv("VIEW_FRAME_BENCH_TRACE") != "" {
				var err error
				if stopTrace, err = startTrace(ctx); err != nil {
					t.Fatal(err)
				}
			}
			cpu0, sent0, wall0 := sampleCPU(ctx), fake.sent.Load(), time.Now()
			res, err := chromedp.Run(ctx, chromedp.Evaluate[map[string][]float64](`new Promise((resolve) => {
				window.__frameWork.length = 0;
				const r0 = window.__tracking.received();
				const times = [];
				const step = (t) => {
					times.push(t);
					if (t - times[0] < 10000) requestAnimationFrame(step);
					else resolve({times, work: window.__frameWork.slice(), received: [window.__tracking.received() - r0]});
				};
				requestAnimationFrame(step);
			})`, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			cpu1, sent1, wall := sampleCPU(ctx), fake.sent.Load(), time.Since(wall0)
			if stopProfile != nil {
				top, err := stopProfile(25)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%d workers: the page's main thread, self time: %s", n, top)
			}
			if stopTrace != nil {
				top, err := stopTrace(25)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%d workers: the renderer's main thread by trace event, self time: %s", n, top)
			}
			times := res["times"]
			intervals := make([]float64, 0, len(times))
			for i := 1; i < len(times); i++ {
				intervals = append(intervals, times[i]-times[i-1])
			}
			p95 := func(v []float64) float64 {
				s := slices.Sorted(slices.Values(v))
				if len(s) == 0 {
					return math.NaN()
				}
				return s[len(s)*95/100]
			}
			span := (times[len(times)-1] - times[0]) / 1000
			t.Logf("%d workers at 10/s: %d frames in %.1f s (%.0f/s), frame interval p95 %.1f ms, script per frame p95 %.2f ms (median %.2f), %.0f positions/s received",
				n, len(intervals), span, float64(len(intervals))/span, p95(intervals), p95(res["work"]), median(res["work"]), res["received"][0]/span)
			lay := evaluate[mapLayout](t, ctx, "window.__tracking.layout()")
			t.Logf("%d workers: the fake stream wrote %.0f positions/s; the map at zoom %.0f drew %d markers on their own, %d clusters, %d labels",
				n, float64(sent1-sent0)/wall.Seconds(), lay.Zoom, lay.Markers, len(lay.Clusters), len(lay.Labels))
			t.Logf("%d workers: CPU over the %.1f s: %s", n, wall.Seconds(), cpuDelta(cpu0, cpu1, wall))
		})
	}
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

// TestBrowserMapTeams shows other teams beside the team: the "Also show"
// toggle of a configured team adds its markers in its own colour family
// (and names it in the URL), the `also` parameter shows any teams, and
// unticking one removes its markers and stops its stream.
func TestBrowserMapTeams(t *testing.T) {
	fake := &fakeTracking{teams: map[string]int{"team_one": 12, "team_two": 7, "team_three": 5}}
	srv := fake.serve(t)
	ctx := browsertest.NewPage(t)
	stopConsole := browsertest.CollectConsole(ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?team=team_one&tiles=none")); err != nil {
		t.Fatal(err)
	}
	markers := func(want int) func(*browsertest.PageState) bool {
		return func(s *browsertest.PageState) bool {
			return s.Ready && s.Connected && s.Workers == 12 && s.Markers == want
		}
	}
	if _, err := browsertest.WaitFor(ctx, time.Now().Add(15*time.Second), markers(12)); err != nil {
		t.Fatal(err)
	}
	// Alone, the team's workers have colours all round the wheel.
	if hues := markerHues(t, ctx); spread(hues[""]) < 90 {
		t.Errorf("alone, team_one's hues %v span less than 90°", hues[""])
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#teams-list input[data-team="team_two"]`))); err != nil {
		t.Fatal(err)
	}
	s, err := browsertest.WaitFor(ctx, time.Now().Add(15*time.Second), markers(19))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Location, "also=team_two") {
		t.Errorf("URL %s does not name team_two in also", s.Location)
	}
	waitFor(t, "team_two's colour family", 5*time.Second, func() bool {
		h := markerHues(t, ctx)
		return len(h["team_two"]) == 7 && len(h[""]) == 12 && within(h[""], 215, 18) && within(h["team_two"], 28, 18)
	})

	// Any teams by the URL.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?team=team_one&also=team_two,team_three&tiles=none")); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.WaitFor(ctx, time.Now().Add(15*time.Second), markers(24)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three colour families", 5*time.Second, func() bool {
		h := markerHues(t, ctx)
		return within(h[""], 215, 18) && within(h["team_two"], 28, 18) && within(h["team_three"], 130, 18) && len(h["team_three"]) == 5
	})
	teams := evaluate[[]map[string]any](t, ctx, "window.__tracking.teams()")
	if len(teams) != 2 || teams[0]["team"] != "team_two" || teams[1]["team"] != "team_three" {
		t.Errorf("teams() = %v, want team_two and team_three", teams)
	}

	// Unticked: its markers go, its stream ends.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#teams-list input[data-team="team_two"]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.WaitFor(ctx, time.Now().Add(15*time.Second), markers(17)); err != nil {
		t.Fatal(err)
	}
	if h := markerHues(t, ctx); len(h["team_two"]) != 0 || len(h["team_three"]) != 5 {
		t.Errorf("after unticking team_two: %d of its markers, %d of team_three's; want 0 and 5", len(h["team_two"]), len(h["team_three"]))
	}
	saveScreenshot(t, ctx, "map-teams")
	if err := browsertest.ConsoleErrors(stopConsole(), nil); err != nil {
		t.Error(err)
	}
}

// markerHues returns the hue of each marker's colour (hsl(H S% L%)), by
// team ("" for the team shown, whose keys have no "team/").
func markerHues(t *testing.T, ctx context.Context) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for key, c := range evaluate[map[string]string](t, ctx, "window.__tracking.markerColours()") {
		team, _, found := strings.Cut(key, "/")
		if !found {
			team = ""
		}
		var h, sat, light float64
		if _, err := fmt.Sscanf(c, "hsl(%g %g%% %g%%)", &h, &sat, &light); err != nil {
			t.Fatalf("marker %s colour %q: %v", key, c, err)
		}
		out[team] = append(out[team], h)
	}
	return out
}

// within reports whether every hue is within d degrees of centre (on the circle).
func within(hues []float64, centre, d float64) bool {
	for _, h := range hues {
		diff := math.Abs(math.Mod(h-centre+540, 360) - 180)
		if diff > d {
			return false
		}
	}
	return len(hues) > 0
}

// spread is the range of the hues (not on the circle: enough to see they are not one family).
func spread(hues []float64) float64 {
	if len(hues) == 0 {
		return 0
	}
	return slices.Max(hues) - slices.Min(hues)
}
