package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/wire"
)

// testSecret is the services' AUTH_JWT_SECRET in these tests.
var testSecret = []byte("0123456789abcdef0123456789abcdef-team-simulator-test")

// startAuthService is the real service with authentication on, as in
// AUTH_MODE=dev: api with a Verifier of testSecret (HS256), on n replicas.
func startAuthService(t *testing.T, api httpapi.Config, n int) []*service {
	t.Helper()
	v, err := auth.NewHS256(testSecret, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	api.Verifier = v
	return startReplicas(t, slices.Repeat([]httpapi.Config{api}, n)...)
}

// With AUTH_JWT_SECRET each worker presents its own token, on both
// transports: role worker, subject and worker_id its id, teams its team.
// The service refuses nothing and accepts every record.
func TestAuthWorkerTokens(t *testing.T) {
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		t.Run(string(tr), func(t *testing.T) {
			s := startAuthService(t, httpapi.Config{}, 1)[0]
			client, answers := countAnswers(t)
			sim, stop := startSimulator(t, Config{
				Teams: []Team{
					{Name: "team_one", Workers: 3, Interval: 20 * time.Millisecond, URL: s.base(), Transport: tr},
					{Name: "team_two", Workers: 2, Interval: 20 * time.Millisecond, URL: s.base(), Transport: tr},
				},
				Ramp: 50 * time.Millisecond, Backoff: fastBackoff(), HTTPClient: client,
				Auth: Auth{Secret: testSecret},
			})
			testsupport.Eventually(t, 10*time.Second, "positions", func() bool {
				return s.accepted(t) >= 100 && sim.Stats().WorkersConnected == 5
			})
			stop()
			if _, rejected := s.records(t); sim.Stats().Errors != 0 || rejected != 0 || answers.refused.Load() != 0 {
				t.Fatalf("stats %+v, records rejected %d, requests refused %d; want none", sim.Stats(), rejected, answers.refused.Load())
			}
			got := map[string]bool{}
			for _, seen := range s.tokens.all() {
				c := seen.claims
				team, _, _ := strings.Cut(c.Subject, "-w")
				if c.Role != auth.RoleWorker || c.WorkerID != c.Subject || !slices.Equal(c.Teams, []string{team}) {
					t.Errorf("worker token claims %+v; want role worker, worker_id = subject, teams = [its team]", c)
				}
				got[c.Subject] = true
			}
			for _, id := range []string{"team_one-w1", "team_one-w2", "team_one-w3", "team_two-w1", "team_two-w2"} {
				if !got[id] {
					t.Errorf("no connection of %s with its own token (saw %v)", id, got)
				}
			}
		})
	}
}

// Load-mode managers present a manager token of their team, on SSE and on
// WebSocket, and the run is as healthy as without authentication; workers on
// either transport present theirs (the replica of the workers only lets in
// workers, that of the managers only managers).
func TestAuthManagerTokens(t *testing.T) {
	for _, c := range []struct {
		wt Transport
		mt ManagerTransport
	}{{TransportWebSocket, ManagerSSE}, {TransportWebSocket, ManagerWebSocket}, {TransportNDJSON, ManagerWebSocket}} {
		t.Run(string(c.wt)+"-"+string(c.mt), func(t *testing.T) {
			reps := startAuthService(t, httpapi.Config{}, 2)
			cfg := quickLoad(t, reps[0], reps[1])
			client, answers := countAnswers(t)
			cfg.WorkerTransport, cfg.ManagerTransport, cfg.HTTPClient = c.wt, c.mt, client
			cfg.Auth = Auth{Secret: testSecret}
			r, err := RunLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, cfg)
			if _, rejected := reps[0].records(t); answers.refused.Load() != 0 || rejected != 0 {
				t.Fatalf("%d requests refused, %d records rejected", answers.refused.Load(), rejected)
			}
			for _, seen := range reps[0].tokens.all() {
				if seen.claims.Role != auth.RoleWorker {
					t.Errorf("worker connection with claims %+v", seen.claims)
				}
			}
			managers := map[string]bool{}
			for _, seen := range reps[1].tokens.all() {
				c := seen.claims
				if c.Role != auth.RoleManager || len(c.Teams) != 1 || !strings.HasPrefix(c.Subject, c.Teams[0]+"-manager-") {
					t.Errorf("manager token claims %+v; want role manager of one team, subject <team>-manager-<n>", c)
				}
				managers[c.Subject] = true
			}
			if want := cfg.Teams * cfg.ManagersPerTeam; len(managers) != want {
				t.Errorf("%d managers presented a token, want %d: %v", len(managers), want, managers)
			}
		})
	}
}

// AUTH_TOKEN: every connection presents the one token as it is.
func TestAuthStaticToken(t *testing.T) {
	iss, err := auth.NewIssuer(testSecret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Issue(auth.Claims{Subject: "ops", Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	s := startAuthService(t, httpapi.Config{}, 1)[0]
	client, answers := countAnswers(t)
	sim, stop := startSimulator(t, Config{
		Teams: []Team{{Name: "team_one", Workers: 3, Interval: 20 * time.Millisecond, URL: s.base()}},
		Ramp:  20 * time.Millisecond, Backoff: fastBackoff(), HTTPClient: client,
		Auth: Auth{Token: tok},
	})
	testsupport.Eventually(t, 10*time.Second, "positions", func() bool { return s.accepted(t) >= 30 })
	stop()
	if st := sim.Stats(); st.Errors != 0 || answers.refused.Load() != 0 {
		t.Fatalf("stats %+v, %d refused", st, answers.refused.Load())
	}
	for _, seen := range s.tokens.all() {
		if seen.token != tok {
			t.Fatalf("a connection presented another token than AUTH_TOKEN")
		}
	}
}

// A service that requires a token refuses a simulator without one: every
// refused dial is counted as an error and retried with backoff, and the
// first is logged once with what to do; the same for a token signed with
// the wrong secret. Both transports; workers stay disconnected.
func TestAuthRefusedDialsCountedAndLoggedOnce(t *testing.T) {
	cases := []struct {
		name   string
		auth   Auth
		advice string
	}{
		{"no token", Auth{}, "server requires a token: set AUTH_JWT_SECRET or AUTH_TOKEN"},
		{"wrong secret", Auth{Secret: []byte("another-secret-of-at-least-32-bytes!!")}, "server refused the token"},
	}
	for _, c := range cases {
		for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
			t.Run(c.name+"/"+string(tr), func(t *testing.T) {
				s := startAuthService(t, httpapi.Config{}, 1)[0]
				client, answers := countAnswers(t)
				logs := &testsupport.SyncBuffer{}
				sim, stop := startSimulator(t, Config{
					Teams:      []Team{{Name: "team_one", Workers: 3, Interval: 20 * time.Millisecond, URL: s.base(), Transport: tr}},
					HTTPClient: client, Ramp: 10 * time.Millisecond, Backoff: fastBackoff(),
					Auth: c.auth, Logger: slog.New(slog.NewTextHandler(logs, nil)),
				})
				testsupport.Eventually(t, 10*time.Second, "retried refusals", func() bool { return sim.Stats().Errors >= 12 && answers.refused.Load() >= 12 })
				stop()
				st := sim.Stats()
				if st.Errors < 12 || st.Sent != 0 || st.Reconnects != 0 || !strings.Contains(st.LastError, c.advice) || !strings.Contains(st.LastError, "401") {
					t.Fatalf("stats %+v: want >= 12 errors, no connection, nothing sent, the last error saying %q (401)", st, c.advice)
				}
				if n := s.Counter(t, "tracking_records_total"); n != 0 {
					t.Fatalf("the service took %v records", n)
				}
				if n := strings.Count(logs.String(), c.advice); n != 1 {
					t.Fatalf("%q logged %d times, want once; logs:\n%s", c.advice, n, logs)
				}
				if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "status=401") {
					t.Fatalf("the refusal is not an error with its status; logs:\n%s", logs)
				}
			})
		}
	}
}

// A 403 names what the token does not allow: here a manager's token on
// a worker connection, and a worker's token on a manager stream.
func TestAuthForbidden(t *testing.T) {
	iss, err := auth.NewIssuer(testSecret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := iss.Issue(auth.Claims{Subject: "m", Role: auth.RoleManager, Teams: []string{"team_one"}})
	if err != nil {
		t.Fatal(err)
	}
	// The real service opens a worker connection for any valid token and
	// refuses its records one by one; a 403 on the connection itself comes
	// from this bare endpoint, answering as the service's error edge does.
	forbid := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(wire.NewErrorBody(tracking.Errorf(tracking.CodeForbidden, "role manager does not publish")))
	}))
	defer forbid.Close()
	env := &runEnv{client: newHTTPClient(), c: &counters{}, log: slog.New(slog.DiscardHandler), now: time.Now,
		hard: context.Background(), refusalLogged: new(atomic.Bool)}
	defer env.client.CloseIdleConnections()
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		c, err := dial(context.Background(), env, tr, forbid.URL+"/tracking/", bearer(mgr), nil)
		if err == nil {
			// A POST is under way once its headers are out; the refusal ends it.
			<-c.done()
			err = c.err()
			c.close()
		}
		var ae *authError
		if !errors.As(err, &ae) || ae.status != 403 || !strings.Contains(err.Error(), "server refused the token for this team or worker") {
			t.Errorf("%s with a manager's token: %v; want a 403 authError", tr, err)
		}
	}

	creds, err := newCredentials(Auth{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	env.creds = creds
	s := startAuthService(t, httpapi.Config{}, 1)[0]
	team := &loadTeam{name: "team_one", index: map[string]int{}}
	for _, mt := range []ManagerTransport{ManagerSSE, ManagerWebSocket} {
		m := newManager(0, team, s.base(), mt, &loadRun{})
		m.env = env
		m.cred = workerCredential("team_one-w1", "team_one") // not a manager
		var err error
		if mt == ManagerSSE {
			err = m.streamSSE(context.Background())
		} else {
			err = m.streamWS(context.Background())
		}
		var ae *authError
		if !errors.As(err, &ae) || ae.status != 403 || !strings.Contains(ae.message, "team_one") && !strings.Contains(ae.message, "worker") {
			t.Errorf("%s manager with a worker's token: %v; want a 403 authError with the server's message", mt, err)
		}
	}
}

// A token is signed anew once half its life has passed, so that a long run
// never presents an expired one; before that the same token is reused.
func TestAuthTokenRenewedAtHalfLife(t *testing.T) {
	creds, err := newCredentials(Auth{Secret: testSecret, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	creds.now = func() time.Time { return now }
	c := workerCredential("team_one-w1", "team_one")
	token := func() string {
		t.Helper()
		h, err := c.header(creds)
		if err != nil {
			t.Fatal(err)
		}
		tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			t.Fatalf("header %v", h)
		}
		return tok
	}
	first := token()
	now = now.Add(29 * time.Minute)
	if token() != first {
		t.Fatal("the token was signed anew before half its life")
	}
	now = now.Add(time.Minute)
	second := token()
	if second == first {
		t.Fatal("the token was not signed anew at half its life")
	}
	v, err := auth.NewHS256(testSecret, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(context.Background(), second)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "team_one-w1" || claims.WorkerID != "team_one-w1" || claims.Role != auth.RoleWorker {
		t.Fatalf("claims %+v", claims)
	}
}

// In a run, reconnects after half the token's life present a new token,
// and the service never refuses one.
func TestAuthReconnectPresentsRenewedToken(t *testing.T) {
	s := startAuthService(t, httpapi.Config{MaxLifetime: 100 * time.Millisecond}, 1)[0]
	client, answers := countAnswers(t)
	sim, stop := startSimulator(t, Config{
		Teams:   []Team{{Name: "team_one", Workers: 2, Interval: 20 * time.Millisecond, URL: s.base()}},
		Ramp:    10 * time.Millisecond,
		Backoff: fastBackoff(), HTTPClient: client,
		Auth: Auth{Secret: testSecret, TTL: 800 * time.Millisecond},
	})
	tokens := func() map[string]map[string]bool {
		out := map[string]map[string]bool{}
		for _, seen := range s.tokens.all() {
			if out[seen.claims.Subject] == nil {
				out[seen.claims.Subject] = map[string]bool{}
			}
			out[seen.claims.Subject][seen.token] = true
		}
		return out
	}
	testsupport.Eventually(t, 10*time.Second, "renewed tokens", func() bool {
		ts := tokens()
		return len(ts["team_one-w1"]) >= 3 && len(ts["team_one-w2"]) >= 3
	})
	stop()
	if st := sim.Stats(); st.Errors != 0 || answers.refused.Load() != 0 {
		t.Fatalf("stats %+v, %d refused", st, answers.refused.Load())
	}
}

// Configuration: a short secret is refused; Auth says what a run presents.
func TestAuthConfig(t *testing.T) {
	if _, err := New(Config{
		Teams: []Team{{Name: "team_one", Workers: 1, URL: "http://127.0.0.1:1/tracking/"}},
		Auth:  Auth{Secret: []byte("too short")},
	}); err == nil || !strings.Contains(err.Error(), "32") {
		t.Errorf("a 9-byte secret: err = %v, want one naming the 32-byte minimum", err)
	}
	if _, err := newCredentials(Auth{Token: "a b"}); err == nil {
		t.Error("a token with a space was accepted")
	}
	for a, want := range map[*Auth]string{
		{}:                               "none",
		{Token: "t"}:                     "AUTH_TOKEN",
		{Secret: testSecret}:             "AUTH_JWT_SECRET",
		{Secret: testSecret, Token: "t"}: "AUTH_JWT_SECRET",
	} {
		if got := a.describe(); !strings.Contains(got, want) {
			t.Errorf("%+v.describe() = %q, want it to name %s", *a, got, want)
		}
	}
}
