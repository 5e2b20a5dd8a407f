package fencing

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	evaluations       prometheus.Counter
	alerts            *prometheus.CounterVec
	publishErrors     prometheus.Counter
	workers           prometheus.Gauge
	stateLoads        *prometheus.CounterVec
	stateSaves        *prometheus.CounterVec
	eventsWritten     prometheus.Counter
	eventsWriteErrors prometheus.Counter
	eventsDropped     *prometheus.CounterVec
	eventsBacklog     prometheus.Gauge
	proximityTeams    prometheus.Gauge
	proximityFixes    prometheus.Counter
	proximityBad      prometheus.Counter
	claimErrors       prometheus.Counter
	statusSuperseded  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_geofence_evaluations_total", Help: "Positions evaluated against their team's geofences (teams without fences are not counted)."}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_alerts_total", Help: "Alert events this replica raised, by kind."}, []string{"kind"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_alert_publish_errors_total", Help: "Alerts that could not be published on their team's stream (they still reach the store)."}),
		workers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_geofence_workers", Help: "Workers whose geofence state this replica holds."}),
		stateLoads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_geofence_state_loads_total", Help: "Loads of a worker's geofence state from the broker, by result (found, none, error)."}, []string{"result"}),
		stateSaves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_geofence_state_saves_total", Help: "Saves of a worker's geofence state to the broker, by result (ok, error)."}, []string{"result"}),
		eventsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_alert_events_written_total", Help: "Alert events appended to the alerting store."}),
		eventsWriteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_alert_events_write_errors_total", Help: "Failed appends of alert events (retried)."}),
		eventsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_alert_events_dropped_total", Help: "Alert events dropped before reaching the store, by reason."}, []string{"reason"}),
		eventsBacklog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_alert_events_backlog", Help: "Alert events waiting to be appended to the store."}),
		proximityTeams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_proximity_teams", Help: "Teams whose proximity rules this replica evaluates (it holds their claim)."}),
		proximityFixes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_proximity_fixes_total", Help: "Positions fed to the proximity rules of the teams this replica evaluates."}),
		proximityBad: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_proximity_undecodable_total", Help: "Positions on a team's stream the proximity evaluation could not decode (skipped)."}),
		claimErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_proximity_claim_errors_total", Help: "Failed claims or renewals of a team's proximity evaluation (retried)."}),
		statusSuperseded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_presence_alerts_superseded_total", Help: "Idle and offline statuses not stored as alerts: another status superseded them before they settled."}),
	}
	for _, r := range []string{"found", "none", "error"} {
		m.stateLoads.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "error"} {
		m.stateSaves.WithLabelValues(r)
	}
	for _, r := range []string{"backlog_full", "shutdown", "closed"} {
		m.eventsDropped.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.evaluations, m.alerts, m.publishErrors, m.workers, m.stateLoads, m.stateSaves,
			m.eventsWritten, m.eventsWriteErrors, m.eventsDropped, m.eventsBacklog,
			m.proximityTeams, m.proximityFixes, m.proximityBad, m.claimErrors, m.statusSuperseded)
	}
	return m
}
