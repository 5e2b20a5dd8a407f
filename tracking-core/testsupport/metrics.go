package testsupport

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricSum is the sum over its series of the counter or gauge name in g;
// it fails tb when g has no such metric.
func MetricSum(tb testing.TB, g prometheus.Gatherer, name string) float64 {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return sum
	}
	tb.Fatalf("no metric %s", name)
	return 0
}
