package httpapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

func record(worker string) string {
	p := tracking.Position{ID: worker + ".1", WorkerID: worker, Team: "team_m",
		Location: tracking.Location{Latitude: 1, Longitude: 2}, TimeStamp: time.Now().UTC()}
	return string(wire.AppendPosition(nil, &p)) + "\n"
}

// histogramCount is the number of observations of a histogram in reg.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// The delivery latency counts live positions only (not the snapshot), and a
// manager closed as too slow counts the positions it never got as dropped.
func TestDeliveryLatencyAndDroppedPositions(t *testing.T) {
	b := memory.New(memory.NewBackend(), memory.Config{})
	r := servicetest.StartReplica(t, b, httpapi.Config{RecordsPerSecond: -1,
		FlushInterval: 300 * time.Millisecond, QueueSoftLimit: 2, QueueHardLimit: 2})
	c := apiclient.MustNew(r.URL+"/tracking", apiclient.Config{})
	ctx := context.Background()
	post := func(body string, n int) {
		t.Helper()
		if a, err := c.Post(ctx, strings.NewReader(body)); err != nil || a.Accepted != n {
			t.Fatalf("post: %+v %v", a, err)
		}
	}
	nextPositions := func(ms apiclient.ManagerStream) string {
		t.Helper()
		for {
			ev, err := ms.Next()
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if len(ev.Positions) > 0 {
				return string(ev.Positions[0])
			}
		}
	}

	post(record("w0"), 1) // the snapshot
	ms, err := c.WatchSSE(ctx, "team_m")
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	if got := nextPositions(ms); !strings.Contains(got, `"w0"`) {
		t.Fatalf("snapshot: %s", got)
	}
	post(record("w1"), 1) // live
	if got := nextPositions(ms); !strings.Contains(got, `"w1"`) {
		t.Fatalf("live: %s", got)
	}
	if n := histogramCount(t, r.Registry, "tracking_delivery_latency_seconds"); n != 1 {
		t.Fatalf("latency observations %d, want 1 (the live position, not the snapshot)", n)
	}

	// Three distinct workers over a hard limit of two: the queue overflows
	// while the writer waits out its flush interval.
	post(record("w2")+record("w3")+record("w4"), 3)
	var rerr *apiclient.ReconnectError
	for {
		_, err := ms.Next()
		if errors.As(err, &rerr) {
			break
		}
		if err != nil {
			t.Fatalf("stream ended without a reconnect hint: %v", err)
		}
	}
	if rerr.Reason != wire.ReasonSlow {
		t.Fatalf("hint %q, want %q", rerr.Reason, wire.ReasonSlow)
	}
	if n := r.Counter(t, "tracking_stream_dropped_total"); n != 3 {
		t.Fatalf("dropped %v, want 3", n)
	}
	if n := histogramCount(t, r.Registry, "tracking_delivery_latency_seconds"); n != 1 {
		t.Fatalf("latency observations %d, want still 1", n)
	}
}
