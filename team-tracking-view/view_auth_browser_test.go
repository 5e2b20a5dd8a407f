package view_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/team-tracking-view/browsertest"
)

// TestBrowserDevAuth: the gateway says mode dev. The view signs in at the
// fake POST /auth/dev-login as a manager of the team shown and puts the token
// on the EventSource URL (the fake stream refuses any request without a
// valid token for its team with 401). The first stream of each team ends
// with a reconnect hint and its token is revoked: the reconnect is refused,
// the view's probe of the positions gets 401 and it signs in again. Tokens
// live 3 s, so the view also renews one before it expires; switching team
// signs in for the new team.
func TestBrowserDevAuth(t *testing.T) {
	requireBuilt(t)
	browsertest.RequireChromium(t)
	fake := newFakeTracking(200*time.Millisecond, map[string]fakeTeam{
		"team_one": {prefix: "one-w", workers: 6, lat: -23.55052, lng: -46.633308},
		"team_two": {prefix: "two-w", workers: 3, lat: -23.5874, lng: -46.6576},
	})
	fake.reconnectFirst = true
	fake.auth = newFakeAuth("dev")
	fake.auth.ttl = 3 * time.Second
	fake.auth.revokeFirst = true
	srv := startServer(t, fake)

	rep := browsertest.Check(t, srv.URL, browsertest.Expectations{
		Workers:       6,
		SwitchTeam:    "team_two",
		SwitchWorkers: 3,
		// Stay on team_one past the renewal of its token (3 s tokens are
		// renewed 0.6 s before they expire).
		FrameSample: 3 * time.Second,
		Timeout:     10 * time.Second,
		// The browser logs the refused reconnects (with the revoked
		// tokens) and the probes that find out why.
		AllowConsole: func(msg string) bool {
			return strings.Contains(msg, "status of 401") && strings.Contains(msg, "/tracking/redis/team_")
		},
	})
	if rep.Connections < 2 {
		t.Errorf("the view counted %d connections for team_one, want >= 2", rep.Connections)
	}

	logins, streams, probes, loginErr := fake.auth.snapshot()
	if loginErr != "" {
		t.Errorf("a dev login was refused: %s", loginErr)
	}
	subject := regexp.MustCompile(`^view-[0-9a-f]{12}$`)
	perTeam := map[string]int{}
	for i, l := range logins {
		if !subject.MatchString(l.Subject) || l.Subject != logins[0].Subject {
			t.Errorf("login %d: subject %q, want view-<12 hex digits>, the same for every login of the page", i+1, l.Subject)
		}
		if l.Role != "manager" || len(l.Teams) != 1 {
			t.Errorf("login %d: role %q, teams %q; want a manager of one team", i+1, l.Role, l.Teams)
			continue
		}
		perTeam[l.Teams[0]]++
	}
	// team_one: the first login, the one after the revoked token was
	// refused, and at least one renewal before expiry; team_two the first
	// two.
	if perTeam["team_one"] < 3 || perTeam["team_two"] < 2 {
		t.Errorf("dev logins per team = %v, want team_one >= 3 (first, after the refusal, renewal) and team_two >= 2", perTeam)
	}

	tokens := map[string][]string{} // team -> distinct tokens presented on its stream
	for _, s := range streams {
		if s.token == "" {
			t.Errorf("a stream request for %s carried no access_token", s.team)
			continue
		}
		if !slices.Contains(tokens[s.team], s.token) {
			tokens[s.team] = append(tokens[s.team], s.token)
		}
	}
	if len(tokens["team_one"]) < 3 || len(tokens["team_two"]) < 2 {
		t.Errorf("distinct tokens on the streams: team_one %d, team_two %d; want >= 3 and >= 2", len(tokens["team_one"]), len(tokens["team_two"]))
	}
	if len(probes) == 0 {
		t.Error("the view never probed the positions after the refused reconnect")
	}
	for _, p := range probes {
		if p == "" {
			t.Error("a positions probe carried no Authorization: Bearer token")
		}
	}
	t.Logf("dev logins per team %v; %d stream requests; %d probes", perTeam, len(streams), len(probes))
}

// TestBrowserNoAuthConfig: a gateway without GET /auth/config (404, one
// that predates authentication) is mode none: the stream opens without a
// token. browsertest accepts the browser's own log line for that 404.
func TestBrowserNoAuthConfig(t *testing.T) {
	requireBuilt(t)
	browsertest.RequireChromium(t)
	fake := newFakeTracking(200*time.Millisecond, map[string]fakeTeam{
		"team_one": {prefix: "one-w", workers: 4, lat: 51.5072, lng: -0.1276},
	})
	mux := http.NewServeMux()
	mux.Handle("/", view.Handler()) // answers /auth/config with 404
	mux.HandleFunc("GET /tracking/{strategy}/{team}", fake.serveStream)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.stop)

	browsertest.Check(t, srv.URL, browsertest.Expectations{Workers: 4})
}

// TestBrowserJWTAuth: the gateway says mode jwt; the token is the page URL's
// access_token. With a valid one the view streams with it and keeps it in
// the page URL across a team switch; without one, with a refused one (401)
// and for a team it does not cover (403) the connection indicator says
// why, and the view stops trying.
func TestBrowserJWTAuth(t *testing.T) {
	requireBuilt(t)
	chromium := browsertest.RequireChromium(t)
	fake := newFakeTracking(200*time.Millisecond, map[string]fakeTeam{
		"team_one": {prefix: "one-w", workers: 5, lat: 52.52, lng: 13.405},
		"team_two": {prefix: "two-w", workers: 2, lat: 52.50, lng: 13.42},
	})
	fake.auth = newFakeAuth("jwt")
	fake.auth.addToken("link-both", "team_one", "team_two")
	fake.auth.addToken("link-one", "team_one")
	srv := startServer(t, fake)

	t.Run("link token", func(t *testing.T) {
		browsertest.Check(t, srv.URL, browsertest.Expectations{
			Workers:       5,
			SwitchTeam:    "team_two",
			SwitchWorkers: 2,
			Query:         url.Values{"tiles": {"none"}, "access_token": {"link-both"}},
		})
		_, streams, _, _ := fake.auth.snapshot()
		for _, s := range streams {
			if s.token != "link-both" {
				t.Errorf("a stream request for %s carried access_token %q, want the page's", s.team, s.token)
			}
		}
	})

	ctx := newPage(t, chromium)
	page := func(q url.Values) string { return srv.URL + "/?" + q.Encode() }
	for _, c := range []struct {
		name  string
		url   string
		wants []string // in the indicator's text
	}{
		{"no token", page(url.Values{"tiles": {"none"}}), []string{"Sign-in required", "access_token"}},
		{"refused token", page(url.Values{"tiles": {"none"}, "access_token": {"forged"}}), []string{"refused", "401", "unknown token"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(c.url)); err != nil {
				t.Fatal(err)
			}
			st := waitConnection(t, ctx, "unauthorized")
			for _, w := range c.wants {
				if !strings.Contains(st.Text, w) {
					t.Errorf("connection indicator %q does not say %q", st.Text, w)
				}
			}
			if st.AuthMode != "jwt" {
				t.Errorf("authMode %q, want jwt", st.AuthMode)
			}
			if strings.Contains(st.Text, "forged") {
				t.Errorf("the indicator shows the token: %q", st.Text)
			}
		})
	}

	t.Run("team not covered", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(page(url.Values{"tiles": {"none"}, "access_token": {"link-one"}}))); err != nil {
			t.Fatal(err)
		}
		waitConnection(t, ctx, "open")
		if err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.ID("team"), "team_two"),
			chromedp.Click(chromedp.CSS(`#watch-form button[type="submit"]`)),
		); err != nil {
			t.Fatal(err)
		}
		st := waitConnection(t, ctx, "unauthorized")
		if !strings.Contains(st.Text, "team_two") || !strings.Contains(st.Text, "403") {
			t.Errorf("connection indicator %q: want it to say that the token does not cover team_two (403)", st.Text)
		}
		u, err := url.Parse(st.Location)
		if err != nil || u.Query().Get("access_token") != "link-one" || u.Query().Get("team") != "team_two" {
			t.Errorf("page URL after the switch %q: want team=team_two and the access_token kept", st.Location)
		}
	})
}

// connectionState is what the view's test hook says about the stream.
type connectionState struct {
	State    string `json:"state"`
	Text     string `json:"text"`
	AuthMode string `json:"authMode"`
	Location string `json:"location"`
}

// waitConnection waits until the view's connection state is want.
func waitConnection(t *testing.T, ctx context.Context, want string) connectionState {
	t.Helper()
	const js = `(() => {
		const t = window.__tracking;
		return t ? {state: t.connection, text: t.connectionText, authMode: t.authMode, location: location.href}
			: {state: "", text: "", authMode: "", location: location.href};
	})()`
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := chromedp.Run(ctx, chromedp.Evaluate[connectionState](js))
		if err != nil {
			t.Fatalf("read the connection state: %v", err)
		}
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection state %q (%q), want %q within 10s", st.State, st.Text, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newPage starts a headless Chromium for checks that browsertest.Check does
// not make (pages that never show workers), closed when the test ends.
func newPage(t *testing.T, chromium string) context.Context {
	t.Helper()
	profile := t.TempDir()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile),
	)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // kills the browser and waits for it, before the profile is removed
		cancel()
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return browserCtx
}
