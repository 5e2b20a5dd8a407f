package kafkabroadcast

import (
	"context"

	"github.com/IBM/sarama"
)

// SaramaMetricsOff is the go-metrics registry the broadcaster gives sarama, for
// the tests' own sarama clients: sarama's default registry starts a goroutine
// that never ends.
var SaramaMetricsOff = discardRegistry{}

// PartitionOf is partitionOf, for tests that write records of their own.
var PartitionOf = partitionOf

// ReadRange is readRange with a partition's byte limit of fetchBytes in each
// Fetch request. It returns the offsets and values visited; visit stops after
// stopAfter records when that is positive. Not for concurrent use with
// other reads of b.
func (b *Broadcaster) ReadRange(ctx context.Context, topic string, p int32, from, to int64, fetchBytes int32, stopAfter int) (offsets []int64, values []string, err error) {
	b.fetchBytes = fetchBytes
	err = b.readRange(ctx, topic, p, from, to, func(rec record) bool {
		offsets = append(offsets, rec.Offset)
		values = append(values, string(rec.Value))
		return stopAfter <= 0 || len(offsets) < stopAfter
	})
	return offsets, values, err
}

// LastRecords returns the keys and values of the records of team's partition
// of LastTopic up to its high-water mark, in offset order (other teams' too).
func (b *Broadcaster) LastRecords(ctx context.Context, team string) (keys, values []string, err error) {
	return b.records(ctx, b.cfg.LastTopic, partitionOf(team, b.nLast))
}

// StateRecords is LastRecords of StateTopic.
func (b *Broadcaster) StateRecords(ctx context.Context, team string) (keys, values []string, err error) {
	return b.records(ctx, b.cfg.StateTopic, partitionOf(team, b.nState))
}

func (b *Broadcaster) records(ctx context.Context, topic string, p int32) (keys, values []string, err error) {
	hwm, err := b.offset(topic, p, sarama.OffsetNewest)
	if err != nil {
		return nil, nil, err
	}
	err = b.readRange(ctx, topic, p, sarama.OffsetOldest, hwm, func(rec record) bool {
		keys = append(keys, string(rec.Key))
		values = append(values, string(rec.Value))
		return true
	})
	return keys, values, err
}

// DescribeTopic is describeTopic, for the external tests.
var DescribeTopic = describeTopic

// DescribeTopicOf is describeTopic on b's control client.
func DescribeTopicOf(b *Broadcaster, topic string, names ...string) ([]sarama.ConfigEntry, error) {
	admin, err := sarama.NewClusterAdminFromClient(b.control)
	if err != nil {
		return nil, err
	}
	// Not closed: that would close b's client.
	return describeTopic(admin, topic, names...)
}
