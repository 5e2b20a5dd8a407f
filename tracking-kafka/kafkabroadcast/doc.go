// Package kafkabroadcast is the Kafka strategy's tracking.Broadcaster, built on
// IBM/sarama: it carries positions between the replicas of tracking-kafka and
// keeps each worker's last known position.
//
// # Topics and partitioning
//
// Two topics, created at start-up if missing (Config.Partitions partitions
// each, Config.ReplicationFactor replicas):
//   - Topic (default "tracking.positions"): one record per position, key =
//     team, value = a one-message tracking frame (wire.AppendFrame).
//     Deleted by age (Config.Retention, default 1h): nobody reads it after the
//     fact.
//   - LastTopic (default "tracking.positions.last"): compacted, key =
//     "team/worker", value = the worker's newest position as a frame.
//
// Every record's partition is set explicitly by partitionOf (FNV-1a of the
// team, modulo the topic's partition count) and the producer uses sarama's
// manual partitioner, so one function decides where a team lives: all of a
// team's positions are in one partition of Topic (per-worker order holds) and
// all of its last known positions in one partition of LastTopic.
//
// # Publishing
//
// Publish puts positions on a bounded queue (Config.QueueSize) and returns; it
// never waits for the broker and answers tracking.ErrOverloaded when the queue
// is full. One pump goroutine feeds sarama's idempotent AsyncProducer (acks
// from all in-sync replicas, one request in flight per broker so retries keep
// order, Config.Linger of batching). Producer errors are counted
// (tracking_kafka_publish_errors_total) and logged, summarised to one line a
// second during an outage.
//
// # Subscribing
//
// No consumer groups: nothing is left behind on the broker. A replica reads
// only the partitions of Topic that hold a team it has a subscription for:
// one sarama partition consumer per such partition, reference-counted by the
// subscriptions and stopped with the last of them. Records are filtered by
// key and each team's positions from one fetch are delivered to its handlers
// in one call. Subscribe looks up the partition's end offset synchronously
// and starts the partition consumer there before it returns, so a position
// published after Subscribe returns is delivered. Sarama retries broker
// errors by itself; a partition consumer that gives up is restarted with
// backoff from the next offset.
//
// # Last known positions
//
// Requirement: a manager connecting to a replica that has just started gets
// the team's snapshot within a second. Each replica writes the newest
// position of each worker it published to LastTopic at most once per
// Config.LastInterval (default 1s): the pump keeps the newest pending one per
// worker and writes them all at each tick, so the compacted topic gets a
// small, bounded write rate and the latest position always lands within one
// interval. LastTopic has segment.ms=60000 and min.cleanable.dirty.ratio=0.1,
// so its uncompacted head stays around a minute of throttled writes, and
// retention.ms of three staleness windows, so workers long gone drop out.
//
// Last(team) on a replica that does not watch the team reads the team's
// partition of LastTopic from its oldest offset up to the high-water mark
// taken at the start (no waiting for new records), keeps the newest record
// per worker and drops those older than Config.StaleAfter. On loopback that
// is a few milliseconds for thousands of workers. When the team is watched on
// this replica, Last answers from a per-team cache: one LastTopic read merged
// with every live record of the team since it became watched (newest by
// timestamp wins). The hub calls Last once per manager connection, so ten
// managers of one team cost one read, not ten. A read that began less than
// LastInterval+1s after the team became watched is done once more later,
// since a throttled write from just before the live records were followed
// may have been on its way.
//
// We chose this over two alternatives: keeping the last positions only in
// replica memory, built from the live stream, cannot serve a replica that has
// just started; reading the positions topic backwards has no bound on how far
// back a silent worker's last position is.
//
// # Connections
//
// Three sarama clients, each with its own broker connections: produce (the
// idempotent producer needs MaxOpenRequests=1), fetch (live partition
// consumers, whose fetches wait at the broker for new records) and control
// (topic creation, offset look-ups, readiness, LastTopic reads). A broker
// answers one request per connection at a time, so a Subscribe or Last on
// the control connection never waits behind a fetch that is waiting for data.
// Sarama's own go-metrics are switched off per client (nometrics.go).
//
// # Shutdown
//
// Close is idempotent and ordered: Publish, Subscribe and Last start
// refusing; calls in progress finish; subscriptions end and their partition
// consumers stop; the pump hands what is queued to the producer within
// Config.CloseGrace (the rest is counted as publish errors); the producer
// flushes and closes; the clients close. No goroutine outlives it.
package kafkabroadcast
