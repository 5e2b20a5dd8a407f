// Package kafkabroadcast is the Kafka strategy's tracking.Broadcaster, built on
// IBM/sarama: it carries positions, statuses and alerts (tracking.Kind)
// between the replicas of tracking-kafka, keeps each worker's last known
// position and status, and is a tracking.StateStore (Worker states).
//
// # Topics and partitioning
//
// Three topics (four with the mailbox), created at start-up if missing
// (Config.Partitions partitions each, Config.ReplicationFactor replicas,
// min.insync.replicas Config.MinInsyncReplicas):
//   - Topic (default "tracking.positions"): one record per message
//     (position, status or alert: the frame carries the kind), key = team,
//     value = a one-message tracking frame (wire.AppendFrame).
//     Deleted by age (Config.Retention, default 1h), which is also how long a
//     stream can be resumed (see Resuming).
//   - LastTopic (default "tracking.positions.last"): compacted, and deleted
//     by age (three staleness windows), value = a one-message frame: key
//     "team/worker" for the worker's newest position,
//     "team/worker/status/<session>" for its last status of a session (see
//     Last known positions and statuses). No alerts.
//   - StateTopic (default "tracking.worker.states"): compacted only, never
//     deleted by age: key "team/worker", value the worker's state (see
//     Worker states).
//
// Every record's partition is set explicitly by partitionOf (FNV-1a of the
// team, modulo the topic's partition count) and the producer uses sarama's
// manual partitioner, so one function decides where a team lives: all of a
// team's positions are in one partition of Topic (per-worker order holds),
// all of its last known positions in one partition of LastTopic and all of
// its states in one partition of StateTopic.
//
// # Publishing
//
// Publish puts positions on a bounded queue (Config.QueueSize) and returns; it
// never waits for the broker and answers tracking.ErrOverloaded when the queue
// is full. One pump goroutine feeds sarama's idempotent AsyncProducer (acks
// from all in-sync replicas, one request in flight per broker so retries keep
// order, Config.Linger of batching). A record is retried for about 40 s, which
// outlasts the loss of its partition's leader (noticed by the controller
// within broker.session.timeout.ms, 9 s by default, then an in-sync replica
// leads): with ReplicationFactor 3 and MinInsyncReplicas 2, a broker's crash
// delays positions and loses none (TestBrokerLossUnderLoad). Producer errors
// are counted (tracking_kafka_publish_errors_total) and logged, summarised to
// one line a second during an outage.
//
// # Subscribing
//
// No consumer groups: nothing is left behind on the broker. A replica reads
// only the partitions of Topic that hold a team it has a subscription for:
// one sarama partition consumer per such partition, reference-counted by the
// subscriptions. Records are filtered by key and each team's positions from
// one fetch are delivered to its handlers in one call. Subscribe of a team
// whose partition has no reader looks up the partition's end offset
// synchronously and starts a partition consumer there before it returns;
// with a reader running, the team's deliveries start at the record the
// reader reads next, which is at most the partition's end. Either way a
// position published after Subscribe returns is delivered (earlier ones may
// be too: the hub drops those up to the head it took, see Resuming).
//
// When the last subscription of a partition ends, its reader lingers for
// Config.ReaderLinger (default 30s), reading and dropping the partition's
// records, and stops only if no subscription has come back by then (and at
// Close). A manager who reconnects (a resume, a lifetime reconnect, a page
// reload) would otherwise wait for the old partition consumer to stop (its
// fetch in flight) and for sarama to start a new one (it batches new
// partition consumers on a 100 ms timer): ~100 ms of every resume. The cost
// is the fetches of a partition nobody watches, for the linger.
//
// Sarama retries broker errors by itself: a partition consumer whose leader
// is lost asks the cluster for the new leader and fetches from it at its next
// offset. One that gives up is restarted with backoff from the next offset
// (from the end of the partition only when that offset is gone).
//
// # Last known positions and statuses
//
// Last(team) holds, per worker, its newest position and its status that
// supersedes the others (tracking.Message.Supersedes: a newer session, then
// the later change), each dropped once Received longer than
// Config.StaleAfter ago; never alerts. Everything below folds messages per
// (worker, kind) that way, stale or not, and drops the stale ones last: a
// status of an old session never shows because the new one's went stale.
//
// Requirement: a manager connecting to a replica that has just started gets
// the team's snapshot within a second. Each replica writes the last position
// and status of each worker it published to LastTopic at most once per
// Config.LastInterval (default 1s) each: the pump keeps the superseding
// pending one per worker and kind and writes them all at each tick, so the
// compacted topic gets a small, bounded write rate and the latest lands
// within one interval. A replica never writes a message that does not
// supersede the one it last wrote of the worker and kind (it remembers
// those until they are stale). LastTopic has segment.ms=60000 and
// min.cleanable.dirty.ratio=0.1, so its uncompacted head stays around a
// minute of throttled writes, and retention.ms of three staleness windows, so
// workers long gone drop out.
//
// Positions are keyed "team/worker" (as before there were kinds, so older
// data stays valid), statuses "team/worker/status/<session>" (the session,
// the status's Time, in decimal). Compaction keeps the record of a key
// written last, whichever replica wrote it; the replica a worker left,
// reporting the end of its session late, would otherwise overwrite the
// status of the new session on the replica the worker joined. Keyed by
// session, both records stay and the read folds them; within a session only
// the replica holding the worker's connection writes, in order. The cost is
// one record per session of a worker until retention drops it, little beside
// the uncompacted head. Positions keep the weaker guarantee: two replicas
// writing one worker's late and new fixes within one compaction could leave
// the older fix (rare: a worker's connection sits on one replica).
//
// Last(team) on a replica that does not watch the team reads the team's
// partition of LastTopic (every key with the prefix "team/") from its oldest
// offset up to the high-water mark taken at the start (no waiting for new
// records), folds the records and drops the stale ones. On loopback that is a
// few milliseconds for thousands of workers. When the team is watched on
// this replica, Last answers from a per-team cache: one LastTopic read and
// the team's records of the positions topic just before it became watched
// (at most 8192 records back: messages whose throttled write may still be on
// its way), folded with every live record of the team since. The hub calls
// Last once per manager connection, so ten managers of one team cost one
// read, not ten. A read that began less than LastInterval+1s after the team
// became watched is done once more later, since a throttled write from just
// before the live records were followed may have been on its way.
//
// We chose this over two alternatives: keeping the last messages only in
// replica memory, built from the live stream, cannot serve a replica that has
// just started; reading the positions topic backwards has no bound on how far
// back a silent worker's last position is.
//
// # Worker states
//
// The Broadcaster is a tracking.StateStore. A worker's state is a record of
// StateTopic keyed "team/worker", in the team's partition (partitionOf); its
// value is a byte 0xff, then the state (a record without it was not written
// by SaveState and is taken as no state, with a warning). A nil state
// writes a tombstone (LoadState answers nil again).
//
// How long a state is kept: until it is saved again or deleted. StateTopic
// is created with cleanup.policy=compact alone (retention.ms=-1, so that
// adding "delete" later does not delete states by age either): compaction
// keeps each worker's newest record and drops a tombstone, with what it
// deleted, delete.retention.ms (24 h) after cleaning. The topic holds one
// record per worker that has a state, plus the saves not compacted yet:
// segment.ms=600000 and min.cleanable.dirty.ratio=0.1 keep those to about
// ten minutes of saves. Geofencing saves a state on each transition and
// deletes none, so the topic grows with the workers ever seen, a few hundred
// bytes each. States used to be records of LastTopic (key
// "team/worker/state"), which deletes by age: a worker silent in one fence
// for three staleness windows (30 minutes by default) lost its state, and
// its next move to another replica reported the fence entered again. Those
// old records are skipped by Last and not loaded: on upgrade, a state saved
// only by a replica before StateTopic is worked out anew once, as happened
// after 30 minutes before.
//
// SaveState hands its record to the producer at once, not throttled (states
// are saved on geofence events, not with every position), and waits for the
// broker's acknowledgement from all in-sync replicas: its error says whether
// the state was kept, and a LoadState that begins on any replica after it
// returned sees the state (acks=all answers once the high-water mark is past
// the record), so the read-your-writes gap the contract allows does not
// arise. One replica's saves of a worker keep their order: one idempotent
// producer, one partition per team, one request in flight. States have a
// producer (and a client) of their own, which returns its successes and
// sends each record at once: the positions' producer returning its
// successes too (read and dropped) lowered its throughput in
// BenchmarkPublishToSubscriber in three runs of four, and a save does not
// wait behind a burst of positions.
//
// LoadState answers the newest record of the key up to the partition's
// high-water mark taken after the call began: nil when there is none, or a
// tombstone. It runs on every worker connection, so a partition of
// StateTopic, every state of its teams, is not read whole every time. Each
// replica indexes the states of each partition of StateTopic it has loaded
// from (state.go): the first LoadState reads the partition from its oldest
// record, later ones only the records written since the read before (a
// Metadata request for the topic's ID, a ListOffsets request, and a Fetch
// when there is something new), and the calls that wait while a read is in
// progress are all answered by the next one. Nothing in a compacted-only
// topic expires, so the index is not rebuilt by age; it is built anew from
// the oldest record only when it cannot follow on from where it ends: the
// topic ID differs (the topic was deleted and created again, even once the
// new topic's offsets have passed the index's), the high-water mark is
// below the index's end, the partition starts past it (records deleted by
// an operator, which Kafka allows only while the policy has "delete"), or the
// previous read is older than half the topic's delete.retention.ms, read
// by New (12 hours with the 24 h New sets; a tombstone written after one
// read and compacted away before the next would leave the deleted state in
// the index). Without topic IDs (brokers
// or Config.KafkaVersion before 2.8), it is also built anew once
// StaleAfter old. The per-team cache of Last for watched teams could not
// serve LoadState: it follows the positions topic; and a worker's replica
// need not watch its team.
//
// Measured on the test broker (one broker on loopback, 2 busy cores, no
// -race; TestLoadStateLatency logs them), one team of 1,000 workers with
// 200-byte states (1,100 records in its partition of StateTopic): a
// SaveState takes 0.3-2 ms, the first LoadState on a replica 2.3-3.9 ms,
// each later one 0.7-0.9 ms (0.3 ms without the Metadata request, which we
// pay so that a topic created again is never read as the old one), and
// 1,000 at once on a new replica (a reconnect storm) 17-23 ms in all. When
// states were records of LastTopic, a first read also scanned the
// partition's positions and statuses (61,000 records for a minute of this
// team's throttled positions: 27-30 ms).
//
// # Resuming
//
// Every position delivered to a handler or returned by Since carries its
// tracking.Offset: Seq is its record's Kafka offset plus one, Index its index
// in the record's frame (always 0 while frames hold one position, but
// nothing assumes it). Seq is shifted by one so that "before the partition's
// first record" has a Seq, 0. Since with a zero offset answers a head mark
// Offset{epoch, n, MaxUint64}, which comes after every position of the
// records before Kafka offset n and before all others: a head is never zero,
// needs no read of the last record, and resuming from it returns everything
// published after the call. n is the partition's high-water mark, except
// when the team is watched on this replica: then it is the offset of the
// next record the partition reader delivers. The hub takes the head, then
// the snapshot (Last, which for a watched team is what the reader has
// delivered), and drops live positions up to the head; a record between the
// reader and the high-water mark would be in neither.
//
// Since(team, after) reads the team's partition on the control client from
// the record after leaves off in (after's own record, whose positions up to
// after.Index it skips, or for a mark the record at its Seq) up to the
// high-water mark taken at the start of the call, keeps the team's records
// (by key) and answers them in offset order, at most limit of them. It
// answers tracking.ErrGap when after is of another epoch, lies beyond the
// high-water mark, or its record is no longer retained (the oldest offset is
// past it; even when after was its record's last position, since a frame's
// length is not known without the record), or when more than limit
// positions follow it. So the resume window is the positions topic's
// retention (Config.Retention, default 1h; Kafka deletes whole segments, so
// a little longer in practice). It cannot be shortened to seconds for a
// test. A resume from far back costs a read of every record of the
// partition since then, other teams' included.
//
// The Epoch names the data of the positions topic and the partition: an
// FNV-1a fold of the topic's ID (a UUID Kafka gives a topic when it is
// created, in Metadata responses of version 10 and later, Kafka 2.8 and
// later; sarama asks for it when Config.KafkaVersion is at least 2.8, as the
// default 3.0.0 is) and the partition number, never zero. A topic deleted
// and created again, or a cluster formatted anew, has a new ID, so an offset
// of the old data gets ErrGap instead of being resumed against records that
// merely share its Kafka offsets. The partition is folded in because offsets
// are per partition and a team moves to another one if the partition count
// changes. With brokers or a KafkaVersion older than 2.8 there is no topic ID;
// the epoch then comes from the cluster ID and the topic name (logged at
// start): a reformatted cluster is still told apart, a topic created again
// is not.
//
// The ID is looked up at start, when a partition consumer restarts (it gives
// up when its offset is out of range, as after the topic was created again)
// and on every Since, with one Metadata request on the control client: a
// replica that had not noticed the topic being created again would
// otherwise resume an old offset against new records. Deliveries use the
// latest ID looked up, so a reader that went on reading a new topic before a
// look-up may label a few positions with the old epoch; resuming from those
// gets ErrGap, never wrong positions.
//
// # Mail
//
// The Broadcaster is a tracking.Mailbox over one more topic, MailboxTopic
// (default "tracking.mailbox", created at start if missing with
// Config.Partitions partitions, deleted by age after 10 minutes: mail is
// live). A record per payload, key "team/worker" or "team/" for the team,
// in the team's partition (partitionOf). Kafka has no channel per worker: a
// replica with a Listen reads the whole partition of the listened team from
// its end at the first Listen (one mail reader per partition, on the fetch
// client, stopped with the partition's last Listen) and drops the records
// of addresses it does not listen to. So it hands on only the mail of its
// own workers, but it reads the mail traffic of every team in those
// partitions. Post queues (1024 payloads, then ErrOverloaded) and one pump
// hands the queue to the idempotent producer in order (see mailbox.go).
// BenchmarkMailbox, one Post awaited at a time between two replicas on the
// local test broker (2 shared cores): 5.7 ms from Post to the other
// replica's handler (Linger, the acknowledgement from all in-sync replicas,
// then the waiting fetch), against 81 µs for Redis.
//
// # Connections
//
// Four sarama clients, each with its own broker connections: produce (the
// idempotent producer needs MaxOpenRequests=1), state (SaveState's
// producer, see Worker states), fetch (live partition consumers, whose
// fetches wait at the broker for new records) and control (topic creation,
// offset and topic ID look-ups, readiness, LastTopic reads of Last,
// StateTopic reads of LoadState, Since reads). A broker answers one request per connection at a
// time, so a Subscribe, Last, Since or LoadState on the control connection
// never waits behind a fetch that is waiting for data.
//
// The bounded reads of Last and Since (read.go) send Fetch requests to the
// partition's leader themselves, one after another until the high-water mark
// taken before, rather than through a sarama Consumer: a partition consumer
// per read cost two offset look-ups and sarama's 100 ms batching of new
// partition consumers before its first fetch (Since of 500 records 128 ms,
// Last of a watched team, two reads, 254 ms; ~4 ms each now). A broker that
// no longer leads the partition, or does not answer, makes the read refresh
// the metadata and try again, as long as records keep coming within 5s.
// Sarama's own go-metrics are switched off per client (nometrics.go).
//
// # Shutdown
//
// Close is idempotent and ordered: Publish, Subscribe, Last, Since, SaveState
// and LoadState start refusing; calls in progress finish (SaveState waits at
// most CloseGrace for its acknowledgement); subscriptions end and the
// partition consumers stop, lingering ones included; the pump hands what is
// queued to the producer within Config.CloseGrace (the rest is counted as
// publish errors); the producer flushes and closes, the state producer (with
// nothing left in it) too; the clients close. No goroutine outlives it.
package kafkabroadcast
