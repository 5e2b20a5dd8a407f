package kafkabroadcast_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
)

// publishRetry publishes, backing off while the queue is full.
func publishRetry(t testing.TB, b tracking.Broadcaster, msgs ...tracking.Message) {
	t.Helper()
	for {
		err := b.Publish(context.Background(), msgs...)
		if err == nil {
			return
		}
		if !errors.Is(err, tracking.ErrOverloaded) {
			t.Fatalf("publish: %v", err)
		}
		time.Sleep(time.Millisecond) // back off from a full queue
	}
}

// metricValue returns the value of the counter or gauge name in reg.
func metricValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// waitCounter polls until the counter reaches at least min (it is updated
// just after the deliveries it counts) and returns its value.
func waitCounter(t testing.TB, reg *prometheus.Registry, name string, min float64) float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := metricValue(t, reg, name)
		if v >= min || time.Now().After(deadline) {
			return v
		}
		time.Sleep(10 * time.Millisecond) // polling a metric
	}
}
