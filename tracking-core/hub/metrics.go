package hub

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	teams      prometheus.Gauge
	queues     prometheus.Gauge
	deliveries prometheus.Counter
	resumes    *prometheus.CounterVec
	replayed   prometheus.Counter
	// snapshotReads: snapshot reads from the broker, each shared by the
	// watchers of a team that asked while the one before was under way.
	snapshotReads prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		teams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_hub_teams", Help: "Teams this replica is subscribed to at the broker."}),
		queues: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_hub_watchers", Help: "Manager streams watching a team on this replica."}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_hub_deliveries_total", Help: "Positions queued to manager streams."}),
		resumes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_hub_resumes_total",
			Help: "Manager streams that asked to resume: resumed, or reset to a snapshot because the positions after their id were no longer retained."},
			[]string{"outcome"}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_hub_resumed_positions_total", Help: "Positions replayed to resuming manager streams."}),
		snapshotReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_hub_snapshot_reads_total",
			Help: "Reads of a team's last positions and stream head from the broker for new manager streams; the streams of a team that start together share one."}),
	}
	for _, o := range []string{"resumed", "reset"} {
		m.resumes.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.teams, m.queues, m.deliveries, m.resumes, m.replayed, m.snapshotReads)
	}
	return m
}
