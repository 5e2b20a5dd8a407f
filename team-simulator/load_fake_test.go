package simulator

import (
	"context"
	"testing"
	"time"
)

func quickLoad(urls ...string) LoadConfig {
	return LoadConfig{
		Workers: 12, Teams: 3, ManagersPerTeam: 2, Rate: 20,
		Duration: 800 * time.Millisecond, Ramp: 100 * time.Millisecond, Warmup: 100 * time.Millisecond, Drain: 5 * time.Second,
		WorkerURLs: urls, Backoff: fastBackoff(), Status: Status{Interval: -1},
	}
}

// Latency is the manager's receive time minus the record's own timeStamp: a
// service that holds every delivery back by 40 ms shows at least 40 ms.
func TestLoadLatencyFromRecordTimestamps(t *testing.T) {
	const delay = 40 * time.Millisecond
	for _, mt := range []ManagerTransport{ManagerSSE, ManagerWebSocket} {
		t.Run(string(mt), func(t *testing.T) {
			f := startFake(t, func(f *fakeService) { f.Delay = delay })
			cfg := quickLoad(f.URL())
			cfg.ManagerTransport = mt
			cfg.Logger = testLogger(t)
			r, err := RunLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, cfg)
			if r.Latency.P50Ms < float64(delay/time.Millisecond) || r.Latency.MaxMs < r.Latency.P99Ms {
				t.Fatalf("latency %+v with every delivery held back %v", r.Latency, delay)
			}
		})
	}
}

// checkReport checks what any healthy run must show.
func checkReport(t *testing.T, r *Report, cfg LoadConfig) {
	t.Helper()
	if r.Sent == 0 || r.Received == 0 || r.Latency.Count == 0 {
		t.Fatalf("nothing measured: %+v", r)
	}
	// Every position sent is seen by each of the team's managers: the fake
	// and the real service keep up with this little traffic.
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

// Workers on the streaming POST feed managers on WebSocket.
func TestLoadWorkersOnNDJSON(t *testing.T) {
	f := startFake(t, nil)
	cfg := quickLoad(f.URL())
	cfg.WorkerTransport = TransportNDJSON
	cfg.ManagerTransport = ManagerWebSocket
	r, err := RunLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, cfg)
}

// Ctrl-C during a load run ends it promptly with a report of what was measured.
func TestLoadInterrupted(t *testing.T) {
	f := startFake(t, nil)
	cfg := quickLoad(f.URL())
	cfg.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel once the window is open and positions flow.
		waitUntil(ctx, 10*time.Second, func() bool { return f.Accepted.Load() > 200 })
		cancel()
	}()
	start := time.Now()
	r, err := RunLoad(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted || time.Since(start) > 20*time.Second {
		t.Fatalf("interrupted %v after %v", r.Interrupted, time.Since(start))
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
	} {
		if _, err := RunLoad(context.Background(), c); err == nil {
			t.Errorf("%s: RunLoad succeeded", name)
		}
	}
}

// Managers told to reconnect (SSE event: reconnect; WebSocket reconnect
// message and close 1012) come back, take the snapshot again without counting
// it twice, and still see the latest position of every worker.
func TestLoadManagersHonourReconnectHint(t *testing.T) {
	for _, mt := range []ManagerTransport{ManagerSSE, ManagerWebSocket} {
		t.Run(string(mt), func(t *testing.T) {
			f := startFake(t, func(f *fakeService) { f.KickManagersAfter = 5 })
			cfg := quickLoad(f.URL())
			cfg.ManagerTransport = mt
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
