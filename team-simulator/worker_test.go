package simulator

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
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

// startSimulator runs a simulator until the returned stop is called.
func startSimulator(t *testing.T, cfg Config) (*Simulator, func()) {
	t.Helper()
	cfg.Logger = testLogger(t)
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
// closes every stream cleanly: WebSockets with 1000, POST bodies ended so that
// the server answers with its summary.
func TestWorkersStreamAndCloseCleanly(t *testing.T) {
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		t.Run(string(tr), func(t *testing.T) {
			f := startFake(t, nil)
			sim, stop := startSimulator(t, Config{
				Teams: []Team{
					{Name: "team_one", Workers: 4, Interval: 20 * time.Millisecond, URL: f.URL(), Transport: tr},
					{Name: "team_two", Workers: 3, Interval: 20 * time.Millisecond, URL: f.URL(), Transport: tr},
				},
				Ramp: 50 * time.Millisecond, Backoff: fastBackoff(),
			})
			testsupport.Eventually(t, 10*time.Second, "positions", func() bool {
				return f.Accepted.Load() >= 200 && sim.Stats().WorkersConnected == 7
			})
			if n := len(f.lastOf("team_one")) + len(f.lastOf("team_two")); n != 7 {
				t.Fatalf("%d workers seen by the service, want 7", n)
			}
			stop()
			st := sim.Stats()
			if st.Errors != 0 || st.Reconnects != 0 || st.WorkersConnected != 0 {
				t.Fatalf("stats after a clean run: %+v", st)
			}
			switch tr {
			case TransportWebSocket:
				testsupport.Eventually(t, 5*time.Second, "clean closes", func() bool { return f.WSClean.Load() == 7 })
			case TransportNDJSON:
				testsupport.Eventually(t, 5*time.Second, "answered POSTs", func() bool { return f.PostsDone.Load() == 7 })
				if f.Posts.Load() != 7 {
					t.Fatalf("%d POSTs for 7 workers", f.Posts.Load())
				}
			}
			if got := f.Accepted.Load(); got != st.Sent {
				t.Fatalf("service accepted %d, workers sent %d", got, st.Sent)
			}
		})
	}
}

// A server's reconnect hint ({"type":"reconnect"} then close 1012) makes the
// worker come back promptly, and is not counted as an error.
func TestWorkersHonourReconnectHint(t *testing.T) {
	f := startFake(t, func(f *fakeService) { f.KickAfter = 5 })
	sim, stop := startSimulator(t, Config{
		Teams:   []Team{{Name: "team_one", Workers: 3, Interval: 10 * time.Millisecond, URL: f.URL()}},
		Ramp:    10 * time.Millisecond,
		Backoff: fastBackoff(),
	})
	testsupport.Eventually(t, 10*time.Second, "reconnects", func() bool { return sim.Stats().Reconnects >= 9 })
	stop()
	st := sim.Stats()
	if st.Errors != 0 {
		t.Fatalf("reconnect hints counted as errors: %+v", st)
	}
	// Each reconnect is a connection the service accepted.
	testsupport.Eventually(t, 5*time.Second, "connections", func() bool { return f.WorkerWS.Load() >= st.Reconnects+3 })
}

// Error answers are counted and the connection stays.
func TestWorkersCountServerErrors(t *testing.T) {
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		t.Run(string(tr), func(t *testing.T) {
			f := startFake(t, func(f *fakeService) { f.RejectWorker = "team_one-w2" })
			sim, stop := startSimulator(t, Config{
				Teams:   []Team{{Name: "team_one", Workers: 2, Interval: 10 * time.Millisecond, URL: f.URL(), Transport: tr}},
				Ramp:    10 * time.Millisecond,
				Backoff: fastBackoff(),
			})
			testsupport.Eventually(t, 10*time.Second, "traffic", func() bool { return f.Rejected.Load() >= 5 && f.Accepted.Load() >= 5 })
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
	f := startFake(t, nil)
	url := f.URL()
	f.srv.Close() // down: connections are refused
	sim, stop := startSimulator(t, Config{
		Teams:   []Team{{Name: "team_one", Workers: 2, Interval: 10 * time.Millisecond, URL: url}},
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
