package presence

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sessions      prometheus.Gauge
	changes       *prometheus.CounterVec
	publishErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_presence_sessions", Help: "Worker sessions this replica follows."}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_presence_changes_total", Help: "Worker status changes this replica published, by new status."},
			[]string{"status"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_presence_publish_errors_total", Help: "Status changes that could not be published (tried again later)."}),
	}
	for _, s := range []string{"online", "idle", "offline"} {
		m.changes.WithLabelValues(s)
	}
	if reg != nil {
		reg.MustRegister(m.sessions, m.changes, m.publishErrors)
	}
	return m
}
