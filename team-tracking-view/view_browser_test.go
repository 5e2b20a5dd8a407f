package view_test

import (
	"cmp"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/team-tracking-view/browsertest"
)

// screenshotPath is where a test's screenshot goes: $VIEW_SCREENSHOT_DIR,
// else the temporary directory, so CI can keep it and people can look.
func screenshotPath(name string) string {
	return filepath.Join(cmp.Or(os.Getenv("VIEW_SCREENSHOT_DIR"), os.TempDir()), "team-tracking-view-"+name+".png")
}

// TestBrowserView checks the map against streams and tiles that behave as a
// gateway's may. Each case names how many stream connections of the first
// team the fake must have had (and the view counted, with viewConns), and
// the tiles it loads from the fake (default none: the coordinate grid only).
func TestBrowserView(t *testing.T) {
	for _, c := range []struct {
		name             string
		fake             *fakeTracking
		exp              browsertest.Expectations
		conns, viewConns int
		tiles            string // "ok" or "broken" (/tiles/{tiles}/...); "": none
		notice           string // in the map's notice; "": none shows
		long             bool   // skipped with -short
	}{{
		// The first stream ends with `event: reconnect` right after the
		// snapshot: markers can only move on a second connection.
		name: "reconnect hint",
		fake: &fakeTracking{teams: map[string]int{"team_one": 12, "team_two": 7}, reconnectFirst: true},
		exp: browsertest.Expectations{
			Strategy: "redis", Team: "team_one", Workers: 12,
			SwitchTeam: "team_two", SwitchWorkers: 7,
			Screenshot: screenshotPath("browser"),
		},
		conns: 2, viewConns: 2,
	}, {
		// The stream is refused (503) three times; the view keeps retrying
		// with backoff and shows the team once it answers.
		name: "backoff",
		fake: &fakeTracking{teams: map[string]int{"team_one": 4}, failFirst: 3},
		exp: browsertest.Expectations{
			Workers: 4,
			// Backoff after three failures: about 0.5 + 1 + 2 s at most.
			Timeout: 10 * time.Second,
			// The browser logs each refused EventSource connection itself.
			AllowConsole: func(msg string) bool {
				return strings.Contains(msg, "/tracking/redis/team_one") && strings.Contains(msg, "503")
			},
		},
		conns: 4,
	}, {
		// A gateway without GET /auth/config (404, one that predates
		// authentication) is mode none: the stream opens without a token.
		// browsertest accepts the browser's own log line for that 404.
		name: "no auth config",
		fake: &fakeTracking{teams: map[string]int{"team_one": 4}, noAuthConfig: true},
		exp:  browsertest.Expectations{Workers: 4},
	}, {
		// 500 workers reporting every 550 ms (the simulator's pace); how
		// smoothly the page animates is logged (by Check), not asserted: it
		// depends on the machine.
		name: "500 workers", long: true,
		fake: &fakeTracking{teams: map[string]int{"team_big": 500}, interval: 550 * time.Millisecond},
		exp: browsertest.Expectations{
			Team: "team_big", Workers: 500,
			Timeout:     10 * time.Second, // a load test
			FrameSample: 2 * time.Second,
			Screenshot:  screenshotPath("500-workers"),
		},
	}, {
		// Tiles that load are kept.
		name: "tiles served", tiles: "ok",
		fake: &fakeTracking{teams: map[string]int{"team_one": 5}},
		exp:  browsertest.Expectations{Workers: 5},
	}, {
		// Tiles that fail make the map fall back to its coordinate grid and
		// say so; the failed requests are console errors the browser logs
		// by itself, so this case allows exactly those.
		name: "tiles failing", tiles: "broken", notice: "coordinate grid",
		fake: &fakeTracking{teams: map[string]int{"team_one": 5}},
		exp: browsertest.Expectations{
			Workers: 5,
			AllowConsole: func(msg string) bool {
				return strings.Contains(msg, "Failed to load resource") && strings.Contains(msg, "/tiles/broken/")
			},
			Screenshot: screenshotPath("tile-fallback"),
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			if c.long && testing.Short() {
				t.Skip("skipped in -short mode")
			}
			srv := c.fake.serve(t)
			if c.tiles != "" {
				c.exp.Query = url.Values{"tiles": {srv.URL + "/tiles/" + c.tiles + "/{z}/{x}/{y}.png"}}
			}
			rep := browsertest.Check(t, srv.URL, c.exp)
			team := rep.Page.Team
			if got := c.fake.connections(team); got < c.conns {
				t.Errorf("%s stream connections = %d, want >= %d", team, got, c.conns)
			}
			if rep.Page.Connections < c.viewConns {
				t.Errorf("the view counted %d connections for %s, want >= %d", rep.Page.Connections, team, c.viewConns)
			}
			if rep.Page.TilesActive != (c.tiles == "ok") || (c.notice == "") != (rep.Page.Notice == "") || !strings.Contains(rep.Page.Notice, c.notice) {
				t.Errorf("tiles active = %v, notice %q; want %v, notice %q", rep.Page.TilesActive, rep.Page.Notice, c.tiles == "ok", c.notice)
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
