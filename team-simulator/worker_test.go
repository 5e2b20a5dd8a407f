package simulator

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/wire"
)

// testLogger logs to stderr with -v and debug on demand, else nowhere.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SIMULATOR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func fastBackoff() Backoff {
	return Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, HintSpread: 10 * time.Millisecond}
}

// startSimulator runs a simulator, logging to cfg.Logger or testLogger,
// until the returned stop is called.
func startSimulator(t *testing.T, cfg Config) (*Simulator, func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	cfg.Status.Interval = -1
	sim, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return sim, stop
}

// Workers stream positions over both transports, and Ctrl-C (the context)
// closes every stream cleanly: the service holds a valid last position of
// every worker, accepted every record sent and saw each connection end, and
// POST bodies end so that the service answers with its summary.
func TestWorkersStreamAndCloseCleanly(t *testing.T) {
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		t.Run(string(tr), func(t *testing.T) {
			s := startService(t, httpapi.Config{})
			client, answers := countAnswers(t)
			sim, stop := startSimulator(t, Config{
				Teams: []Team{
					{Name: "team_one", Workers: 4, Interval: 20 * time.Millisecond, URL: s.base(), Transport: tr},
					{Name: "team_two", Workers: 3, Interval: 20 * time.Millisecond, URL: s.base(), Transport: tr},
				},
				Ramp: 50 * time.Millisecond, Backoff: fastBackoff(), HTTPClient: client,
			})
			testsupport.Eventually(t, 10*time.Second, "positions", func() bool {
				return s.accepted(t) >= 200 && sim.Stats().WorkersConnected == 7
			})
			for team, n := range map[string]int{"team_one": 4, "team_two": 3} {
				recs := s.lastPositions(t, team)
				for _, rec := range recs {
					if _, err := wire.DecodePosition(rec, time.Now()); err != nil {
						t.Fatalf("service holds an invalid record %s: %v", rec, err)
					}
				}
				if len(recs) != n {
					t.Fatalf("%d workers of %s seen by the service, want %d", len(recs), team, n)
				}
			}
			stop()
			st := sim.Stats()
			if st.Errors != 0 || st.Reconnects != 0 || st.WorkersConnected != 0 {
				t.Fatalf("stats after a clean run: %+v", st)
			}
			testsupport.Eventually(t, 5*time.Second, "connections ended", func() bool { return s.Counter(t, "tracking_connections") == 0 })
			switch tr {
			case TransportWebSocket:
				if answers.upgrades.Load() != 7 {
					t.Fatalf("%d WebSockets for 7 workers", answers.upgrades.Load())
				}
			case TransportNDJSON:
				if answers.posts.Load() != 7 || answers.postAnswers.Load() != 7 {
					t.Fatalf("%d POSTs, %d answered, for 7 workers", answers.posts.Load(), answers.postAnswers.Load())
				}
			}
			if got := s.accepted(t); got != st.Sent {
				t.Fatalf("service accepted %d, workers sent %d", got, st.Sent)
			}
		})
	}
}

// Ctrl-C closes every worker WebSocket with 1000 (seen by startDiscard).
func TestWorkersCloseWebSocketsWith1000(t *testing.T) {
	url, clean := startDiscard(t)
	sim, stop := startSimulator(t, Config{
		Teams: []Team{{Name: "team_one", Workers: 3, Interval: 20 * time.Millisecond, URL: url}},
		Ramp:  10 * time.Millisecond, Backoff: fastBackoff(),
	})
	testsupport.Eventually(t, 10*time.Second, "connections", func() bool { return sim.Stats().WorkersConnected == 3 })
	stop()
	testsupport.Eventually(t, 5*time.Second, "clean closes", func() bool { return clean.Load() == 3 })
}

// A server's reconnect hint ({"type":"reconnect"} then close 1012, here at
// the end of a short connection lifetime) makes the worker come back
// promptly, and is not counted as an error.
func TestWorkersHonourReconnectHint(t *testing.T) {
	s := startService(t, httpapi.Config{MaxLifetime: 50 * time.Millisecond})
	client, answers := countAnswers(t)
	sim, stop := startSimulator(t, Config{
		Teams:   []Team{{Name: "team_one", Workers: 3, Interval: 10 * time.Millisecond, URL: s.base()}},
		Ramp:    10 * time.Millisecond,
		Backoff: fastBackoff(), HTTPClient: client,
	})
	testsupport.Eventually(t, 10*time.Second, "reconnects", func() bool { return sim.Stats().Reconnects >= 9 })
	stop()
	st := sim.Stats()
	if st.Errors != 0 {
		t.Fatalf("reconnect hints counted as errors: %+v", st)
	}
	// Each reconnect followed a hint and is a connection the service accepted.
	if hints := s.Counter(t, "tracking_reconnect_hints_total"); hints < float64(st.Reconnects) {
		t.Fatalf("%d reconnects after %v hints", st.Reconnects, hints)
	}
	if n := answers.upgrades.Load(); n < st.Reconnects+3 {
		t.Fatalf("%d connections for 3 workers and %d reconnects", n, st.Reconnects)
	}
}

// Error answers (here: records over the service's rate limit) are counted
// and the connection stays.
func TestWorkersCountServerErrors(t *testing.T) {
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		t.Run(string(tr), func(t *testing.T) {
			s := startService(t, httpapi.Config{RecordsPerSecond: 20, RecordBurst: 1})
			sim, stop := startSimulator(t, Config{
				Teams:   []Team{{Name: "team_one", Workers: 2, Interval: 10 * time.Millisecond, URL: s.base(), Transport: tr}},
				Ramp:    10 * time.Millisecond,
				Backoff: fastBackoff(),
			})
			testsupport.Eventually(t, 10*time.Second, "traffic", func() bool {
				accepted, rejected := s.records(t)
				return rejected >= 5 && accepted >= 5
			})
			if tr == TransportWebSocket {
				testsupport.Eventually(t, 10*time.Second, "errors counted", func() bool { return sim.Stats().Errors >= 5 })
			}
			stop()
			st := sim.Stats()
			// NDJSON learns of rejections from the summary at the end of the body.
			if st.Errors < 5 || st.Reconnects != 0 || st.LastError == "" {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// With the service down, workers retry with backoff and connect once it is up.
func TestWorkersRetryUntilServiceUp(t *testing.T) {
	s := startService(t, httpapi.Config{})
	s.Stop() // down: connections are refused
	sim, stop := startSimulator(t, Config{
		Teams:   []Team{{Name: "team_one", Workers: 2, Interval: 10 * time.Millisecond, URL: s.base()}},
		Ramp:    10 * time.Millisecond,
		Backoff: fastBackoff(),
	})
	testsupport.Eventually(t, 10*time.Second, "failed attempts", func() bool { return sim.Stats().Errors >= 4 })
	stop()
	if st := sim.Stats(); st.Sent != 0 || st.LastError == "" {
		t.Fatalf("stats %+v", st)
	}
}

// The same seed gives the same workers the same start: a run is reproducible.
func TestSimulatorSeed(t *testing.T) {
	cfg := Config{Seed: 99, Teams: []Team{{Name: "a", Workers: 3, URL: "http://x/tracking/"}, {Name: "b", Workers: 2, URL: "http://x/tracking/"}}}
	s1, err1 := New(cfg)
	s2, err2 := New(cfg)
	cfg.Seed = 100
	s3, err3 := New(cfg)
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	for i := range s1.workers {
		if s1.workers[i].walk.pos != s2.workers[i].walk.pos || s1.workers[i].id != s2.workers[i].id {
			t.Fatalf("worker %d differs between two runs with one seed", i)
		}
		if s1.workers[i].walk.pos == s3.workers[i].walk.pos {
			t.Fatalf("worker %d starts at the same place with another seed", i)
		}
	}
	if s1.workers[3].id != "b-w1" {
		t.Fatalf("worker ids %s", s1.workers[3].id)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Team{Name: "team_one", Workers: 1, URL: "http://localhost:8080/tracking/redis/"}
	for name, c := range map[string]Config{
		"no teams":       {},
		"bad team name":  {Teams: []Team{{Name: "team one", Workers: 1, URL: ok.URL}}},
		"twice":          {Teams: []Team{ok, ok}},
		"negative":       {Teams: []Team{{Name: "t", Workers: -1, URL: ok.URL}}},
		"no workers":     {Teams: []Team{{Name: "t", Workers: 0, URL: ok.URL}}},
		"bad url":        {Teams: []Team{{Name: "t", Workers: 1, URL: "localhost:8080"}}},
		"bad transport":  {Teams: []Team{{Name: "t", Workers: 1, URL: ok.URL, Transport: "carrier-pigeon"}}},
		"long worker id": {Teams: []Team{{Name: "t234567890123456789012345678901234567890123456789012345678901", Workers: 10, URL: ok.URL}}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	s, err := New(Config{Teams: []Team{ok}})
	if err != nil || s.cfg.Teams[0].Interval != 550*time.Millisecond || s.cfg.Teams[0].Transport != TransportWebSocket {
		t.Fatalf("defaults: %+v %v", s, err)
	}
}
