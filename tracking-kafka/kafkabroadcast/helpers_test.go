package kafkabroadcast_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/testsupport"
)

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
	var v float64
	testsupport.Eventually(t, 10*time.Second, fmt.Sprintf("%s >= %v", name, min), func() bool {
		v = metricValue(t, reg, name)
		return v >= min
	})
	return v
}
