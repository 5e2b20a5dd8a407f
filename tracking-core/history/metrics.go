package history

import "github.com/prometheus/client_golang/prometheus"

type writerMetrics struct {
	written prometheus.Counter
	dropped *prometheus.CounterVec
	errors  prometheus.Counter
	latency prometheus.Histogram
	backlog prometheus.Gauge
	up      prometheus.Gauge
}

func newWriterMetrics(reg prometheus.Registerer) *writerMetrics {
	m := &writerMetrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "history_records_written_total", Help: "Records written to the history store.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "history_records_dropped_total",
			Help: "Records never written: backlog_full (the oldest waiting were dropped), shutdown (Close's grace ran out), closed (added after Close).",
		}, []string{"reason"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "history_write_errors_total", Help: "Failed batch writes (each is retried).",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "history_batch_write_seconds", Help: "Time of one successful batch write.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "history_backlog_records", Help: "Records waiting to be written.",
		}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "history_store_up", Help: "1 when the last batch write succeeded, 0 when it failed (the live path does not depend on it).",
		}),
	}
	m.up.Set(1)
	for _, r := range []string{"backlog_full", "shutdown", "closed"} {
		m.dropped.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.written, m.dropped, m.errors, m.latency, m.backlog, m.up)
	}
	return m
}
