package kafkabroadcast

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	consumedRecords prometheus.Counter
	consumedBytes   prometheus.Counter
	partitions      prometheus.Gauge
	published       prometheus.Counter
	publishErrors   prometheus.Counter
	consumeErrors   prometheus.Counter
	lastRecords     prometheus.Counter
	stateRecords    prometheus.Counter
	queueLength     prometheus.GaugeFunc
}

func newMetrics(queued *atomic.Int64) *metrics {
	return &metrics{
		consumedRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_kafka_consumed_records_total",
			Help: "Records read from the positions topic, for watched teams or not (the intake of this replica)."}),
		consumedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_kafka_consumed_bytes_total",
			Help: "Key and value bytes of the records read from the positions topic."}),
		partitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracking_kafka_partitions_consumed",
			Help: "Partitions of the positions topic this replica reads (those holding watched teams, or teams watched within ReaderLinger)."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_kafka_published_total",
			Help: "Positions handed to the Kafka producer."}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_kafka_publish_errors_total",
			Help: "Records that could not be delivered to Kafka (producer errors, and positions still queued when Close gave up)."}),
		consumeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_kafka_consume_errors_total",
			Help: "Errors while reading partitions: fetch errors, undecodable records, partition consumer restarts."}),
		lastRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_kafka_last_records_read_total",
			Help: "Records read from the last-known-positions topic to answer snapshots."}),
		stateRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracking_kafka_state_records_read_total",
			Help: "Records read from the worker states topic to answer worker state loads."}),
		queueLength: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracking_kafka_publish_queue_length",
			Help: "Positions queued by Publish and not yet handed to the producer."},
			func() float64 { return float64(queued.Load()) }),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.consumedRecords, m.consumedBytes, m.partitions, m.published,
		m.publishErrors, m.consumeErrors, m.lastRecords, m.stateRecords, m.queueLength}
}

// register registers every collector on reg, or none.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	var done []prometheus.Collector
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return fmt.Errorf("register metrics: %w", err)
		}
		done = append(done, c)
	}
	return nil
}
