package hub

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	teams      prometheus.Gauge
	queues     prometheus.Gauge
	deliveries prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		teams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_hub_teams", Help: "Teams this replica is subscribed to at the broker."}),
		queues: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_hub_watchers", Help: "Manager streams watching a team on this replica."}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_hub_deliveries_total", Help: "Positions queued to manager streams."}),
	}
	if reg != nil {
		reg.MustRegister(m.teams, m.queues, m.deliveries)
	}
	return m
}
