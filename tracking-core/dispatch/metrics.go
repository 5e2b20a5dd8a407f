package dispatch

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sent       prometheus.Counter
	recipients prometheus.Counter
	deliveries *prometheus.CounterVec
	inboxes    prometheus.Gauge
	ackSeconds prometheus.Histogram
	failures   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "dispatch_messages_total",
			Help: "Dispatch messages sent through this replica."}),
		recipients: prometheus.NewCounter(prometheus.CounterOpts{Name: "dispatch_recipients_total",
			Help: "Recipients of the dispatch messages sent through this replica."}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dispatch_state_changes_total",
			Help: "Delivery state changes this replica recorded, by state reached."}, []string{"state"}),
		inboxes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dispatch_inboxes",
			Help: "Worker connections of this replica that receive dispatch messages."}),
		ackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dispatch_ack_seconds",
			Help:    "Time from a message's creation to a worker's ack, for acks this replica recorded.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600}}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dispatch_failures_total",
			Help: "Failed store, broker or connection operations of dispatch, by operation."}, []string{"op"}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.recipients, m.deliveries, m.inboxes, m.ackSeconds, m.failures)
	}
	return m
}
