package view_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/team-tracking-view/browsertest"
)

// TestBrowserTiles checks the tile layer against a local tile server: tiles
// that load are kept; tiles that fail make the map fall back to its
// coordinate grid and say so (the failed requests are console errors the
// browser logs by itself, so this test allows exactly those).
func TestBrowserTiles(t *testing.T) {
	requireBuilt(t)
	browsertest.RequireChromium(t)

	tile := tilePNG(t)
	mux := http.NewServeMux()
	mux.Handle("/", view.Handler())
	mux.HandleFunc("GET /tiles/ok/{z}/{x}/{y}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(tile)
	})
	mux.HandleFunc("GET /tiles/broken/{z}/{x}/{y}", http.NotFound)
	fake := newFakeTracking(200*time.Millisecond, map[string]fakeTeam{
		"team_one": {prefix: "one-w", workers: 5, lat: 52.52, lng: 13.405},
	})
	fake.register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.stop)

	t.Run("served", func(t *testing.T) {
		rep := browsertest.Check(t, srv.URL, browsertest.Expectations{
			Workers: 5,
			Query:   url.Values{"tiles": {srv.URL + "/tiles/ok/{z}/{x}/{y}.png"}},
		})
		if !rep.TilesActive || rep.Notice != "" {
			t.Errorf("with tiles that load: tiles active = %v, notice %q; want active, no notice", rep.TilesActive, rep.Notice)
		}
	})
	t.Run("failing", func(t *testing.T) {
		rep := browsertest.Check(t, srv.URL, browsertest.Expectations{
			Workers: 5,
			Query:   url.Values{"tiles": {srv.URL + "/tiles/broken/{z}/{x}/{y}.png"}},
			AllowConsole: func(msg string) bool {
				return strings.Contains(msg, "Failed to load resource") && strings.Contains(msg, "/tiles/broken/")
			},
			Screenshot: screenshotPath("tile-fallback"),
		})
		if rep.TilesActive || !strings.Contains(rep.Notice, "coordinate grid") {
			t.Errorf("with failing tiles: tiles active = %v, notice %q; want the grid fallback and its notice", rep.TilesActive, rep.Notice)
		}
		// The first failures make the map drop its tile layer: only the
		// initial view's tiles (zoom 2) were requested, none after the map
		// zoomed to the team.
		for _, m := range rep.Console {
			if strings.Contains(m, "/tiles/broken/") && !strings.Contains(m, "/tiles/broken/2/") {
				t.Errorf("a tile was requested after the fallback: %s", m)
			}
		}
	})
}

// tilePNG is a plain 256x256 tile.
func tilePNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for y := range 256 {
		for x := range 256 {
			img.Set(x, y, color.RGBA{R: 0xe8, G: 0xef, B: 0xe4, A: 0xff})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
