package defcache

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	fences     prometheus.Gauge
	teams      prometheus.Gauge
	rules      prometheus.Gauge
	pollErrors prometheus.Counter
	bad        prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		fences: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_geofences_cached", Help: "Geofences in this replica's cache, over all teams."}),
		teams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_geofence_teams_cached", Help: "Teams with at least one geofence in this replica's cache."}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_proximity_rules_cached", Help: "Proximity rules in this replica's cache, over all teams."}),
		pollErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_definitions_poll_errors_total", Help: "Failed reads of the definitions' change feed (retried at the next poll)."}),
		bad: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_definitions_invalid_total", Help: "Stored definitions that did not parse and were left out of the cache."}),
	}
	if reg != nil {
		reg.MustRegister(m.fences, m.teams, m.rules, m.pollErrors, m.bad)
	}
	return m
}
