package sampling

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	teamsWatched   prometheus.Gauge
	teamsFollowed  prometheus.Gauge
	advisedWatched prometheus.Gauge
	advice         *prometheus.CounterVec
	mail           *prometheus.CounterVec
	errors         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		teamsWatched: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_sampling_teams_watched", Help: "Teams with a manager stream on this replica."}),
		teamsFollowed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_sampling_teams_followed", Help: "Teams with a worker connection on this replica."}),
		advisedWatched: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_sampling_teams_advised_watched", Help: "Teams followed on this replica whose workers are advised the watched interval."}),
		advice: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_sampling_advice_total", Help: "Sampling advice given to worker connections, by advice (watched, unwatched)."},
			[]string{"advice"}),
		mail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_sampling_mail_total", Help: "Sampling mail posted to the teams' addresses, by type (watch, unwatch, who)."},
			[]string{"type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_sampling_errors_total", Help: "Failed posts and listens on the mailbox (retried), by op (post, listen)."},
			[]string{"op"}),
	}
	for _, a := range []string{"watched", "unwatched"} {
		m.advice.WithLabelValues(a)
	}
	for _, t := range []string{kindWatch, kindUnwatch, kindWho} {
		m.mail.WithLabelValues(t)
	}
	for _, op := range []string{"post", "listen"} {
		m.errors.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(m.teamsWatched, m.teamsFollowed, m.advisedWatched, m.advice, m.mail, m.errors)
	}
	return m
}
