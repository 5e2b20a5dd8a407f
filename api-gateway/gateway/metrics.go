package gateway

import (
	"github.com/teamtrack/tracking-core/discovery"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/teamtrack/tracking-core/buildinfo"
)

// NewRegistry returns a registry with the Go runtime and process collectors
// and build_info.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildinfo.Collector())
	return r
}

// noUpstream is the upstream label of requests answered by the gateway itself.
const noUpstream = "none"

// metrics are the proxy's, labelled by strategy, route (Kind) and upstream
// address. Upstream addresses are few (the replicas), so the labels stay bounded.
type metrics struct {
	requests       *prometheus.CounterVec   // strategy, route, upstream, code
	duration       *prometheus.HistogramVec // strategy, route, upstream
	active         *prometheus.GaugeVec     // strategy, route, upstream
	upstreamErrors *prometheus.CounterVec   // strategy, upstream, kind
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_requests_total",
			Help: "Proxied requests by strategy, route, upstream and status code (101 for WebSocket upgrades, 499 when the client left first).",
		}, []string{"strategy", "route", "upstream", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_request_duration_seconds",
			Help:    "Time from request to the end of the proxied exchange (for streams, the stream's life).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"strategy", "route", "upstream"}),
		active: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_active_connections",
			Help: "Proxied exchanges in progress (open streams and WebSockets) by strategy, route and upstream.",
		}, []string{"strategy", "route", "upstream"}),
		upstreamErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upstream_errors_total",
			Help: "Upstream failures by kind: connect (refused or timed out, retried elsewhere), other (after connecting), unavailable (no instance could take the request).",
		}, []string{"strategy", "upstream", "kind"}),
	}
}

// registerInstances exports, per strategy, the number of instances the
// resolver currently lists: healthy in Consul, ready behind a DNS name, or
// listed statically. Zero is the "no ready replica" alert.
func registerInstances(reg prometheus.Registerer, resolver interface {
	Instances(string) []discovery.Instance
}, services map[string]string) {
	f := promauto.With(reg)
	for strategy, svc := range services {
		f.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "gateway_upstream_instances",
			Help:        "Instances of a strategy's tracking service the gateway's discovery currently lists (Consul: passing their /readyz check; DNS: ready pods).",
			ConstLabels: prometheus.Labels{"strategy": strategy},
		}, func() float64 { return float64(len(resolver.Instances(svc))) })
	}
}
