package webhook

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	deliveries *prometheus.CounterVec   // team, webhook, result
	latency    *prometheus.HistogramVec // team, webhook
	inflight   prometheus.Gauge
	leaseErrs  prometheus.Counter
}

// Results of the webhook_deliveries_total counter.
const (
	resultDelivered    = "delivered"
	resultFailed       = "failed"        // will be retried
	resultDeadLettered = "dead_lettered" // gave up
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhook_deliveries_total",
			Help: "Delivery attempts per endpoint by result: delivered (2xx), failed (to be retried), dead_lettered (the last attempt failed).",
		}, []string{"team", "webhook", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "webhook_delivery_seconds", Help: "Time of one POST to an endpoint, whatever its result.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"team", "webhook"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "webhook_deliveries_in_flight", Help: "Deliveries this replica holds a lease on.",
		}),
		leaseErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "webhook_lease_errors_total", Help: "Failed reads of the outbox (retried at the next poll).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.latency, m.inflight, m.leaseErrs)
	}
	return m
}
