package simulator

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/messaging/sqlitemessaging"
	trackingservice "github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-core/servicetest"
)

// startMessageReplicas starts n replicas sharing a broker and a message
// store: messages sent through one reach workers on another.
func startMessageReplicas(t *testing.T, n int) []*servicetest.Replica {
	t.Helper()
	store, err := sqlitemessaging.Open(context.Background(), sqlitemessaging.Config{Path: filepath.Join(t.TempDir(), "messages.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	backend := memory.NewBackend()
	cfg := trackingservice.Config{API: httpapi.Config{RecordsPerSecond: -1}, Messages: store}
	out := make([]*servicetest.Replica, n)
	for i := range out {
		out[i] = servicetest.StartReplicaConfig(t, memory.New(backend, memory.Config{}), cfg)
	}
	return out
}

// Workers on replica A, messages POSTed to B, the manager stream on B
// (SSE) or A (WebSocket): every message is acked, each measured.
func TestRoundTripAcrossReplicas(t *testing.T) {
	for _, watch := range []ManagerTransport{ManagerSSE, ManagerWebSocket} {
		t.Run(string(watch), func(t *testing.T) {
			rs := startMessageReplicas(t, 2)
			a, b := rs[0].URL+"/tracking/", rs[1].URL+"/tracking/"
			watchURL := b
			if watch == ManagerWebSocket {
				watchURL = a
			}
			r, err := RunRoundTrip(context.Background(), RoundTripConfig{
				Team: "rt_team", Workers: 3, Interval: 50 * time.Millisecond, Ramp: 20 * time.Millisecond,
				WorkerURL: a, SendURL: b, WatchURL: watchURL, WatchTransport: watch,
				Messages: 12, Rate: 100, Timeout: 5 * time.Second, ReadAfter: 10 * time.Millisecond,
				Backoff: fastBackoff(), Logger: testLogger(t), Status: Status{Interval: -1},
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.Sent != 12 || r.Acked != 12 || r.Unacked != 0 || r.SendErrors != 0 || r.AckLatency.Count != 12 {
				t.Fatalf("report %+v", r)
			}
			if r.AckLatency.P50Ms <= 0 || r.AckLatency.MaxMs < r.AckLatency.P99Ms || r.DeliveredLatency.Count != 12 || r.PostLatency.Count != 12 {
				t.Fatalf("latencies %+v %+v %+v", r.AckLatency, r.DeliveredLatency, r.PostLatency)
			}
			if r.Workers.Messages < 12 || r.Workers.Acks < 12 {
				t.Fatalf("workers %+v", r.Workers)
			}
		})
	}
}

// Messages nobody acks (the workers' URL serves no messages: the fake
// server) are counted as not acked once the timeout has passed.
func TestRoundTripCountsUnacked(t *testing.T) {
	rs := startMessageReplicas(t, 1)
	f := startFake(t, "")
	start := time.Now()
	r, err := RunRoundTrip(context.Background(), RoundTripConfig{
		Team: "rt_team", Workers: 2, Interval: 50 * time.Millisecond, Ramp: 20 * time.Millisecond,
		WorkerURL: f.URL, SendURL: rs[0].URL + "/tracking/",
		Messages: 3, Rate: 100, Timeout: 300 * time.Millisecond,
		Backoff: fastBackoff(), Logger: testLogger(t), Status: Status{Interval: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 3 || r.Acked != 0 || r.Unacked != 3 || r.AckLatency.Count != 0 {
		t.Fatalf("report %+v", r)
	}
	// The store still has them queued for the workers it never saw.
	if r.UnackedStates["sent"] != 3 {
		t.Fatalf("stored states %v", r.UnackedStates)
	}
	if d := time.Since(start); d > 40*time.Second {
		t.Fatalf("took %s", d)
	}
}
