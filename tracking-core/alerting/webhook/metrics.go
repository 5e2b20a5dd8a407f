package webhook

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	deliveries *prometheus.CounterVec   // team, webhook, result
	latency    *prometheus.HistogramVec // team, webhook
	inflight   prometheus.Gauge
	leaseErrs  prometheus.Counter

	pushes      *prometheus.CounterVec   // team, result
	pushLatency *prometheus.HistogramVec // team
}

// Results of the webhook_deliveries_total counter.
const (
	resultDelivered    = "delivered"
	resultFailed       = "failed"        // will be retried
	resultDeadLettered = "dead_lettered" // gave up
	resultExpired      = "expired"       // push: the subscription is gone (404, 410), deleted
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
			Name: "webhook_deliveries_in_flight", Help: "Deliveries (to webhooks and push subscriptions) this replica holds a lease on.",
		}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_deliveries_total",
			Help: "Web Push attempts per team by result: delivered (2xx), failed (to be retried), dead_lettered (refused for good, or the last attempt failed), expired (the push service said the subscription is gone: deleted).",
		}, []string{"team", "result"}),
		pushLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "push_delivery_seconds", Help: "Time of one push to a push service, whatever its result.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"team"}),
		leaseErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "webhook_lease_errors_total", Help: "Failed reads of the outbox (retried at the next poll).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.latency, m.inflight, m.leaseErrs, m.pushes, m.pushLatency)
	}
	return m
}
