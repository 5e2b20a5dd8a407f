package simulator

import (
	"context"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/testsupport"
)

// quickLoad is a short load run with its workers on replica w and its
// managers on replica m.
func quickLoad(t *testing.T, w, m *service) LoadConfig {
	return LoadConfig{
		Workers: 12, Teams: 3, ManagersPerTeam: 2, Rate: 20,
		Duration: 800 * time.Millisecond, Ramp: 100 * time.Millisecond, Warmup: 100 * time.Millisecond, Drain: 5 * time.Second,
		WorkerURLs: []string{w.base()}, ManagerURLs: []string{m.base()},
		Backoff: fastBackoff(), Status: Status{Interval: -1}, Logger: testLogger(t),
	}
}

// The load generator in the reference shape: workers on replica A, managers
// on replica B, one broker between them, every pair of transports. Positions
// arrive, every manager sees every worker's latest, and latency is the
// manager's receive time minus the record's own timeStamp: workers whose
// clock is 40 ms behind show at least 40 ms.
func TestLoad(t *testing.T) {
	const behind = 40 * time.Millisecond
	for _, wt := range []Transport{TransportWebSocket, TransportNDJSON} {
		for _, mt := range []ManagerTransport{ManagerSSE, ManagerWebSocket} {
			t.Run(string(wt)+"-"+string(mt), func(t *testing.T) {
				reps := startReplicas(t, httpapi.Config{}, httpapi.Config{})
				cfg := quickLoad(t, reps[0], reps[1])
				cfg.WorkerTransport, cfg.ManagerTransport = wt, mt
				cfg.Now = func() time.Time { return time.Now().Add(-behind) }
				r, err := RunLoad(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				checkReport(t, r, cfg)
				if r.Latency.P50Ms < float64(behind/time.Millisecond) || r.Latency.MaxMs < r.Latency.P99Ms {
					t.Fatalf("latency %+v with records stamped %v early", r.Latency, behind)
				}
			})
		}
	}
}

// checkReport checks what any healthy run must show.
func checkReport(t *testing.T, r *Report, cfg LoadConfig) {
	t.Helper()
	if r.Sent == 0 || r.Received == 0 || r.Latency.Count == 0 {
		t.Fatalf("nothing measured: %+v", r)
	}
	// Every position sent is seen by each of the team's managers: the
	// service keeps up with this little traffic.
	if r.MissedLatest != 0 || r.Pairs != int64(cfg.Workers*cfg.ManagersPerTeam) {
		t.Fatalf("missed %d of %d pairs", r.MissedLatest, r.Pairs)
	}
	if r.WorkerErrors != 0 || r.ManagerErrors != 0 || r.Foreign != 0 {
		t.Fatalf("errors: %+v", r)
	}
	// Latency comes from real clocks: positive, and no longer than the run.
	run := float64(time.Since(r.Started).Milliseconds())
	if r.Latency.P50Ms <= 0 || r.Latency.MaxMs > run || r.Latency.P50Ms > r.Latency.P99Ms {
		t.Fatalf("latency %+v", r.Latency)
	}
	// No more than Workers × Rate positions per second went out (an upper
	// bound only: how many did is up to the machine, never asserted).
	if want := float64(cfg.Workers) * cfg.Rate; r.SentPerSecond > want*1.5 {
		t.Fatalf("%.0f positions/s sent, want at most %.0f", r.SentPerSecond, want)
	}
	if r.Generator.PeakRSSBytes <= 0 || r.Generator.Error != "" {
		t.Fatalf("generator %+v", r.Generator)
	}
}

// Ctrl-C during a load run ends it promptly with a report of what was measured.
func TestLoadInterrupted(t *testing.T) {
	s := startService(t, httpapi.Config{})
	cfg := quickLoad(t, s, s)
	cfg.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		r   *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := RunLoad(ctx, cfg)
		done <- result{r, err}
	}()
	// Cancel once the window is open and positions flow.
	testsupport.Eventually(t, 10*time.Second, "positions", func() bool { return s.accepted(t) > 200 })
	start := time.Now()
	cancel()
	res := <-done
	if res.err != nil || !res.r.Interrupted || time.Since(start) > 20*time.Second {
		t.Fatalf("RunLoad: %+v %v after %v", res.r, res.err, time.Since(start))
	}
}

func TestLoadConfigValidation(t *testing.T) {
	for name, c := range map[string]LoadConfig{
		"no workers":         {WorkerURLs: []string{"http://x/"}},
		"more teams":         {Workers: 2, Teams: 3, WorkerURLs: []string{"http://x/"}},
		"no url":             {Workers: 2},
		"bad url":            {Workers: 2, WorkerURLs: []string{"x"}},
		"bad manager":        {Workers: 2, WorkerURLs: []string{"http://x/"}, ManagerTransport: "grpc"},
		"negative managers":  {Workers: 2, WorkerURLs: []string{"http://x/"}, ManagersPerTeam: -1},
		"rate":               {Workers: 2, WorkerURLs: []string{"http://x/"}, Rate: -1},
		"pid that is absent": {Workers: 2, WorkerURLs: []string{"http://x/"}, PIDs: []int{1 << 30}},
		"positions":          {Workers: 2, WorkerURLs: []string{"http://x/"}, Positions: -1},
		"manager rate":       {Workers: 2, WorkerURLs: []string{"http://x/"}, ManagerRate: -1},
		"metrics url":        {Workers: 2, WorkerURLs: []string{"http://x/"}, MetricsURLs: []string{"localhost:9090"}},
	} {
		if _, err := RunLoad(context.Background(), c); err == nil {
			t.Errorf("%s: RunLoad succeeded", name)
		}
	}
}

// Managers told to reconnect (SSE event: reconnect; WebSocket reconnect
// message and close 1012) at the end of a short lifetime on their replica
// come back, take the snapshot again without counting it twice, and still
// see the latest position of every worker. The workers' replica keeps its
// connections: a record in flight when the service ends a worker's WebSocket
// may be lost by the service (TestLoadLifetimeReconnects).
func TestLoadManagersHonourReconnectHint(t *testing.T) {
	for _, mt := range []ManagerTransport{ManagerSSE, ManagerWebSocket} {
		t.Run(string(mt), func(t *testing.T) {
			// Without batching, the snapshot goes out before newer positions replace it.
			reps := startReplicas(t, httpapi.Config{}, httpapi.Config{MaxLifetime: 200 * time.Millisecond, FlushInterval: -1})
			cfg := quickLoad(t, reps[0], reps[1])
			cfg.ManagerTransport = mt
			cfg.ManagerNoResume = true // each reconnect takes the snapshot
			// Slow workers: a snapshot then repeats positions already seen
			// (at 20/s, a reconnect slower than 50 ms on a loaded machine
			// found every worker moved on, and no duplicate).
			cfg.Rate, cfg.Duration = 2, 1200*time.Millisecond
			r, err := RunLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.ManagerReconnects == 0 || r.ManagerErrors != 0 || r.MissedLatest != 0 || r.Duplicates == 0 {
				t.Fatalf("report %+v", r)
			}
		})
	}
}

// Connections with a short lifetime on both replicas: workers and managers
// are told to reconnect over and over and come back. Every position the
// service accepted reaches every manager of the team; a worker's last record
// may be lost only by the service itself (a record in flight while the
// service closes the WebSocket is never read), never between the service and
// the managers.
func TestLoadLifetimeReconnects(t *testing.T) {
	api := httpapi.Config{MaxLifetime: 300 * time.Millisecond}
	reps := startReplicas(t, api, api)
	cfg := quickLoad(t, reps[0], reps[1])
	cfg.Duration = 1500 * time.Millisecond
	cfg.Drain = 10 * time.Second // a record the service lost keeps the drain waiting to the end
	r, lr, err := runLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.WorkerReconnects == 0 || r.ManagerReconnects == 0 {
		t.Fatalf("no reconnects with a 300ms lifetime: %+v", r)
	}
	if r.WorkerErrors != 0 || r.ManagerErrors != 0 || r.Received == 0 {
		t.Fatalf("report %+v", r)
	}
	for _, team := range lr.teams {
		accepted := map[string]uint64{}
		for _, rec := range reps[0].lastPositions(t, team.name) {
			s, ok := scanRecord(rec)
			if !ok {
				t.Fatalf("foreign record %s", rec)
			}
			accepted[string(s.worker)] = s.seq
		}
		for _, m := range lr.managers {
			if m.team != team {
				continue
			}
			for i, w := range team.workers {
				if seen := m.seen[i].Load(); seen != accepted[w.id] {
					t.Errorf("manager %d: worker %s: service accepted up to %d, manager saw %d", m.n, w.id, accepted[w.id], seen)
				}
			}
		}
	}
	t.Logf("reconnects: workers %d, managers %d; latest positions lost by the service: %d of %d pairs",
		r.WorkerReconnects, r.ManagerReconnects, r.MissedLatest, r.Pairs)
}

// With only some teams watched, only their workers pair with managers, and
// the report splits the ingest between watched and unwatched teams.
func TestLoadSomeTeamsWatched(t *testing.T) {
	reps := startReplicas(t, httpapi.Config{}, httpapi.Config{})
	cfg := quickLoad(t, reps[0], reps[1])
	cfg.WatchedTeams = 1
	cfg.IgnoreAdvice = true // every team sends at Rate: both halves of the split are measured
	r, err := RunLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	watchedWorkers := cfg.Workers / cfg.Teams
	if r.MissedLatest != 0 || r.Pairs != int64(watchedWorkers*cfg.ManagersPerTeam) {
		t.Fatalf("missed %d of %d pairs, want %d pairs", r.MissedLatest, r.Pairs, watchedWorkers*cfg.ManagersPerTeam)
	}
	if r.WatchedSentPerSecond <= 0 || r.UnwatchedSentPerSecond <= 0 ||
		r.WatchedSentPerSecond+r.UnwatchedSentPerSecond > r.SentPerSecond+0.5 {
		t.Fatalf("sent %v/s split as watched %v/s, unwatched %v/s", r.SentPerSecond, r.WatchedSentPerSecond, r.UnwatchedSentPerSecond)
	}
	if r.Config.WatchedTeams != 1 {
		t.Fatalf("report config %+v", r.Config)
	}
}
