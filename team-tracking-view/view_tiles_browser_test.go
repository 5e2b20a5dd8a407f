package view_test

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/teamtrack/team-tracking-view/browsertest"
)

// TestBrowserTiles checks the tile layer against a local tile server: tiles
// that load are kept; tiles that fail make the map fall back to its
// coordinate grid and say so (the failed requests are console errors the
// browser logs by itself, so this test allows exactly those).
func TestBrowserTiles(t *testing.T) {
	var tile bytes.Buffer // a plain 256x256 tile
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{R: 0xe8, G: 0xef, B: 0xe4, A: 0xff}), image.Point{}, draw.Src)
	if err := png.Encode(&tile, img); err != nil {
		t.Fatal(err)
	}
	srv := (&fakeTracking{teams: map[string]int{"team_one": 5}}).serve(t, map[string]http.HandlerFunc{
		"GET /tiles/ok/{z}/{x}/{y}": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(tile.Bytes())
		},
		"GET /tiles/broken/{z}/{x}/{y}": http.NotFound,
	})

	for _, c := range []struct {
		name, tiles string
		active      bool
		notice      string // in the map's notice; "": none shows
		screenshot  string
	}{
		{name: "served", tiles: "ok", active: true},
		{name: "failing", tiles: "broken", notice: "coordinate grid", screenshot: screenshotPath("tile-fallback")},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := browsertest.Check(t, srv.URL, browsertest.Expectations{
				Workers: 5,
				Query:   url.Values{"tiles": {srv.URL + "/tiles/" + c.tiles + "/{z}/{x}/{y}.png"}},
				AllowConsole: func(msg string) bool {
					return c.tiles == "broken" && strings.Contains(msg, "Failed to load resource") && strings.Contains(msg, "/tiles/broken/")
				},
				Screenshot: c.screenshot,
			})
			if rep.Page.TilesActive != c.active || (c.notice == "") != (rep.Page.Notice == "") || !strings.Contains(rep.Page.Notice, c.notice) {
				t.Errorf("tiles active = %v, notice %q; want %v, notice %q", rep.Page.TilesActive, rep.Page.Notice, c.active, c.notice)
			}
			// The first failures make the map drop its tile layer: only the
			// initial view's tiles (zoom 2) were requested, none after the
			// map zoomed to the team.
			for _, m := range rep.Console {
				if strings.Contains(m, "/tiles/broken/") && !strings.Contains(m, "/tiles/broken/2/") {
					t.Errorf("a tile was requested after the fallback: %s", m)
				}
			}
		})
	}
}
