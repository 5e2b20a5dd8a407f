package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	records     *prometheus.CounterVec // by transport and result (accepted or an error code)
	connections *prometheus.GaugeVec   // by kind
	written     prometheus.Counter
	writes      prometheus.Counter
	conflated   prometheus.Counter
	dropped     prometheus.Counter     // pending positions lost when a slow manager's stream is closed
	latency     prometheus.Histogram   // receipt (Received) to the write on a manager's connection
	reconnects  *prometheus.CounterVec // reconnect hints sent, by reason
	advice      prometheus.Counter     // sampling advice written to workers
	replies     *prometheus.CounterVec // workers' acks and read receipts, by result

	quietHandlers prometheus.Gauge   // goroutines handling quiet worker connections' messages
	quietHanded   prometheus.Counter // quiet connections' messages handled by a quiet handler
	quietInline   prometheus.Counter // quiet connections' messages handled by the connection, no handler free
}

// newMetrics makes the metrics and registers them with reg, unless nil.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		records: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_records_total", Help: "Records received from workers, by transport and result."},
			[]string{"transport", "result"}),
		connections: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tracking_connections", Help: "Open connections, by kind."}, []string{"kind"}),
		written: f.NewCounter(prometheus.CounterOpts{
			Name: "tracking_stream_positions_total", Help: "Positions written to manager streams."}),
		writes: f.NewCounter(prometheus.CounterOpts{
			Name: "tracking_stream_writes_total", Help: "Batched writes to manager streams."}),
		conflated: f.NewCounter(prometheus.CounterOpts{
			Name: "tracking_stream_conflated_total", Help: "Superseded positions skipped for slow managers."}),
		dropped: f.NewCounter(prometheus.CounterOpts{
			Name: "tracking_stream_dropped_total",
			Help: "Positions pending for a manager too slow to keep (its queue overflowed) when its stream was closed with a slow hint; it resumes or restarts from a snapshot."}),
		// Receipt is stamped by the ingesting replica and the write timed by
		// the manager's: across hosts, their clocks' offset adds in.
		latency: f.NewHistogram(prometheus.HistogramOpts{
			Name: "tracking_delivery_latency_seconds",
			Help: "Time from a position's receipt by the platform (its Received stamp) to its write on a manager's live stream (snapshot and resumed positions are not counted).",
			// Fine enough between 10 ms and 1 s for a load run's p99
			// (team-simulator load -metrics-url) to be read from it.
			Buckets: []float64{.001, .0025, .005, .01, .015, .02, .025, .035, .05, .075, .1, .15, .2, .25, .35, .5, .75, 1, 2.5, 5, 10, 30},
		}),
		reconnects: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_reconnect_hints_total", Help: "Reconnect hints sent to clients, by reason."},
			[]string{"reason"}),
		advice: f.NewCounter(prometheus.CounterOpts{
			Name: "tracking_sampling_advice_written_total", Help: "Sampling advice messages written to worker WebSockets."}),
		replies: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tracking_worker_replies_total", Help: "Acks and read receipts of dispatch messages from workers, by type and result."},
			[]string{"type", "result"}),
		quietHandlers: f.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_quiet_handlers",
			Help: "Goroutines handling the messages of quiet worker WebSockets (so that the connections' own goroutines keep their smallest stacks)."}),
		quietHanded: f.NewCounter(prometheus.CounterOpts{
			Name: "tracking_quiet_handed_total",
			Help: "Messages of quiet worker WebSockets handled by a quiet handler rather than the connection's own goroutine."}),
		quietInline: f.NewCounter(prometheus.CounterOpts{
			Name: "tracking_quiet_inline_total",
			Help: "Messages of quiet worker WebSockets handled by the connection's own goroutine because every handler was busy."}),
	}
}
