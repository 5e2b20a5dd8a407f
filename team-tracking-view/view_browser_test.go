package view_test

import (
	"cmp"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/team-tracking-view/browsertest"
)

// startServer serves the embedded view at /, the fake stream and routes,
// as the api-gateway does with the real stream. It skips the test when the
// view is not built or Chromium is missing, or fails it when CI is set (CI
// runs build.sh before the tests, and must not skip them silently).
func startServer(t *testing.T, fake *fakeTracking, routes map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	browsertest.Require(t, view.Built(), "the view is not built: run "+view.BuildCommand+" before go test")
	browsertest.RequireChromium(t)
	mux := http.NewServeMux()
	mux.Handle("/", view.Handler())
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	fake.register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(fake.done) }) // runs first: the streams end, then the server closes
	return srv
}

// screenshotPath is where a test's screenshot goes: $VIEW_SCREENSHOT_DIR,
// else the temporary directory, so CI can keep it and people can look.
func screenshotPath(name string) string {
	return filepath.Join(cmp.Or(os.Getenv("VIEW_SCREENSHOT_DIR"), os.TempDir()), "team-tracking-view-"+name+".png")
}

// TestBrowserStream checks the map against streams that misbehave as a
// gateway's may; each case names how many stream connections of the first
// team the fake must have had (and the view counted, with viewConns).
func TestBrowserStream(t *testing.T) {
	for _, c := range []struct {
		name             string
		fake             *fakeTracking
		exp              browsertest.Expectations
		conns, viewConns int
		long             bool // skipped with -short
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
		// smoothly the page animates is logged, not asserted: it depends
		// on the machine.
		name: "500 workers", long: true,
		fake: &fakeTracking{teams: map[string]int{"team_big": 500}, interval: 550 * time.Millisecond},
		exp: browsertest.Expectations{
			Team: "team_big", Workers: 500,
			Timeout:     10 * time.Second, // a load test: the 5 s bound is the others'
			FrameSample: 2 * time.Second,
			Screenshot:  screenshotPath("500-workers"),
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			if c.long && testing.Short() {
				t.Skip("skipped in -short mode")
			}
			srv := startServer(t, c.fake, nil)
			rep := browsertest.Check(t, srv.URL, c.exp)
			team := rep.Page.Team
			if got := c.fake.connections(team); got < c.conns {
				t.Errorf("%s stream connections = %d, want >= %d", team, got, c.conns)
			}
			if rep.Page.Connections < c.viewConns {
				t.Errorf("the view counted %d connections for %s, want >= %d", rep.Page.Connections, team, c.viewConns)
			}
			if rep.Frames != nil {
				t.Logf("%d workers: %s", c.exp.Workers, rep.Frames)
			}
		})
	}
}
