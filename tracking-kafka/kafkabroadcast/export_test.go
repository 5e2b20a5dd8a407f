package kafkabroadcast

// SaramaMetricsOff is the go-metrics registry the broadcaster gives sarama, for
// the tests' own sarama clients: sarama's default registry starts a goroutine
// that never ends.
var SaramaMetricsOff = discardRegistry{}

// PartitionOf is partitionOf, for tests that write records of their own.
var PartitionOf = partitionOf
