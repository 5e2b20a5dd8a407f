package view_test

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teamtrack/team-tracking-view/browsertest"
)

// TestBrowserDevAuth: the gateway says mode dev. The view signs in at the
// fake POST /auth/dev-login as a manager of the team shown and sends the
// token with its stream request (the fake stream refuses any request without
// a valid token for its team with 401). The first stream of each team ends
// with a reconnect hint and its token is revoked: the reconnect is refused
// with 401, which the view reads from the stream's own answer (no probe of
// the positions, as EventSource needed), and it signs in again. Tokens
// live 3 s, so the view also renews one before it expires; switching team
// signs in for the new team.
func TestBrowserDevAuth(t *testing.T) {
	fake := &fakeTracking{
		teams:          map[string]int{"team_one": 6, "team_two": 3},
		reconnectFirst: true,
		authMode:       "dev",
		devTTL:         3 * time.Second,
	}
	srv := fake.serve(t)

	rep := browsertest.Check(t, srv.URL, browsertest.Expectations{
		Workers:       6,
		SwitchTeam:    "team_two",
		SwitchWorkers: 3,
		// Stay on team_one past the renewal of its token (3 s tokens are
		// renewed 0.6 s before they expire).
		FrameSample: 3 * time.Second,
		Timeout:     10 * time.Second,
		// The browser logs the refused reconnects (with the revoked tokens).
		AllowConsole: func(msg string) bool {
			return strings.Contains(msg, "status of 401") && strings.Contains(msg, "/tracking/redis/team_")
		},
	})
	if rep.Page.Connections < 2 {
		t.Errorf("the view counted %d connections for team_one, want >= 2", rep.Page.Connections)
	}

	// The fake accepts any login: these checks are stricter than its own.
	logins, streams, probes := fake.snapshot()
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
	tokens := map[string][]string{} // team -> distinct tokens presented on its stream
	for _, s := range streams {
		if s.token == "" {
			t.Errorf("a stream request for %s carried no token", s.team)
		} else if !slices.Contains(tokens[s.team], s.token) {
			tokens[s.team] = append(tokens[s.team], s.token)
		}
	}
	// team_one: the first login, the one after the revoked token was
	// refused, and at least one renewal before expiry; team_two the first
	// two. Each new token is presented on the stream.
	for team, least := range map[string]int{"team_one": 3, "team_two": 2} {
		if perTeam[team] < least || len(tokens[team]) < least {
			t.Errorf("%s: %d dev logins, %d distinct tokens on its streams; want >= %d of each", team, perTeam[team], len(tokens[team]), least)
		}
	}
	// The stream's own 401 says the token was refused: no probe is needed.
	if len(probes) != 0 {
		t.Errorf("the view probed the positions %d times; the stream's refusal says why", len(probes))
	}
	t.Logf("dev logins per team %v; %d stream requests; %d probes", perTeam, len(streams), len(probes))
}

// TestBrowserJWTAuth: the gateway says mode jwt; the token is the page URL's
// access_token. With a valid one the view streams with it and keeps it in
// the page URL across a team switch; without one, with a refused one (401)
// and for a team it does not cover (403) the connection indicator says
// why, and the view stops trying.
func TestBrowserJWTAuth(t *testing.T) {
	fake := &fakeTracking{
		teams:     map[string]int{"team_one": 5, "team_two": 2},
		authMode:  "jwt",
		jwtTokens: map[string][]string{"link-both": {"team_one", "team_two"}, "link-one": {"team_one"}},
	}
	srv := fake.serve(t)

	t.Run("link token", func(t *testing.T) {
		browsertest.Check(t, srv.URL, browsertest.Expectations{
			Workers:       5,
			SwitchTeam:    "team_two",
			SwitchWorkers: 2,
			Query:         url.Values{"tiles": {"none"}, "access_token": {"link-both"}},
		})
		_, streams, _ := fake.snapshot()
		for _, s := range streams {
			if s.token != "link-both" {
				t.Errorf("a stream request for %s carried access_token %q, want the page's", s.team, s.token)
			}
		}
	})

	ctx := browsertest.NewPage(t)
	for _, c := range []struct {
		name, token string
		switchTo    string   // a team chosen once the stream is open
		wants       []string // in the indicator's text
	}{
		{name: "no token", wants: []string{"Sign-in required", "access_token"}},
		{name: "refused token", token: "forged", wants: []string{"refused", "401", "unknown token"}},
		// The page URL keeps the token across the switch.
		{name: "team not covered", token: "link-one", switchTo: "team_two", wants: []string{"team_two", "403"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := url.Values{"tiles": {"none"}}
			if c.token != "" {
				q.Set("access_token", c.token)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?"+q.Encode())); err != nil {
				t.Fatal(err)
			}
			if c.switchTo != "" {
				waitConnection(t, ctx, "open")
				if err := browsertest.ChooseTeam(ctx, "redis", c.switchTo); err != nil {
					t.Fatal(err)
				}
			}
			st := waitConnection(t, ctx, "unauthorized")
			for _, w := range c.wants {
				if !strings.Contains(st.ConnectionText, w) {
					t.Errorf("connection indicator %q does not say %q", st.ConnectionText, w)
				}
			}
			if st.AuthMode != "jwt" {
				t.Errorf("authMode %q, want jwt", st.AuthMode)
			}
			if c.token != "" && strings.Contains(st.ConnectionText, c.token) {
				t.Errorf("the indicator shows the token: %q", st.ConnectionText)
			}
			if u, err := url.Parse(st.Location); c.switchTo != "" &&
				(err != nil || u.Query().Get("access_token") != c.token || u.Query().Get("team") != c.switchTo) {
				t.Errorf("page URL after the switch %q: want team=%s and the access_token kept", st.Location, c.switchTo)
			}
		})
	}
}

// waitConnection waits until the view's connection state is want.
func waitConnection(t *testing.T, ctx context.Context, want string) *browsertest.PageState {
	t.Helper()
	st, err := browsertest.WaitFor(ctx, time.Now().Add(10*time.Second), func(s *browsertest.PageState) bool {
		return s.Connection == want
	})
	if err != nil {
		t.Fatalf("connection state: want %q within 10s: %v", want, err)
	}
	return st
}
