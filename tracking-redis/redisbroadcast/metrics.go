package redisbroadcast

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	published     prometheus.Counter
	publishErrors prometheus.Counter
	pipelines     prometheus.Counter
	received      prometheus.Counter
	receivedBytes prometheus.Counter
	channels      prometheus.Gauge
	queued        prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64) *metrics {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_redis_published_total", Help: "Positions sent to Redis."}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_redis_publish_errors_total", Help: "Positions that could not be sent to Redis."}),
		pipelines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_redis_pipelines_total", Help: "Pipelines sent to Redis."}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_redis_received_total", Help: "Positions received from Redis channels."}),
		receivedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_redis_received_bytes_total", Help: "Payload bytes received from Redis channels."}),
		channels: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_redis_subscribed_channels", Help: "Team channels this replica subscribes to."}),
		queued: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracking_redis_publish_queue", Help: "Positions waiting to be sent to Redis."}, queueLen),
	}
	if reg != nil {
		reg.MustRegister(m.published, m.publishErrors, m.pipelines, m.received, m.receivedBytes, m.channels, m.queued)
	}
	return m
}
