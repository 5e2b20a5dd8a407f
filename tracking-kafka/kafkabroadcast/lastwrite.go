package kafkabroadcast

import (
	"strconv"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
)

// writeKey is what the writer keeps one message of: a worker's last of a kind.
type writeKey struct {
	team string
	lastOf
}

// lastWriter throttles the writes of last known positions and statuses to
// LastTopic: it keeps the newest position and the superseding status of each
// worker published since the last tick, and the pump writes them all at each
// tick. So a worker's position (and status) is written at most once per
// LastInterval, and its latest always within one interval. Alerts are never
// written. Only the pump goroutine uses it.
//
// Compaction keeps the record written last, so a late record with an older
// fix must never be written after a newer one, nor a status after one that
// supersedes it: written remembers the times of each worker's newest write of
// each kind (forgotten once that write is stale).
type lastWriter struct {
	pending map[writeKey]tracking.Message
	written map[writeKey]tracking.Message // Kind, Time and Received only
	flushes int
}

func newLastWriter() *lastWriter {
	return &lastWriter{pending: make(map[writeKey]tracking.Message), written: make(map[writeKey]tracking.Message)}
}

func (w *lastWriter) note(m tracking.Message) {
	if !keptInLast(m.Kind) {
		return
	}
	k := writeKey{m.Team, lastOf{m.Worker, m.Kind}}
	if prev, ok := w.pending[k]; ok && !m.Supersedes(&prev) {
		return
	}
	if prev, ok := w.written[k]; ok && !m.Supersedes(&prev) {
		return
	}
	w.pending[k] = m
}

// forget drops what it remembers of writes received before cutoff.
func (w *lastWriter) forget(cutoff int64) {
	for k, m := range w.written {
		if m.Received < cutoff {
			delete(w.written, k)
		}
	}
}

// reset forgets the pending messages and returns how many there were.
func (w *lastWriter) reset() int {
	n := len(w.pending)
	clear(w.pending)
	return n
}

// lastTopicKey is the LastTopic key of m: "team/worker" for a position (as
// before there were kinds), "team/worker/status/<session>" for a status, the
// session being its Time in decimal. Team and worker names cannot hold a '/'
// (tracking.ValidateID), so the key is unambiguous.
//
// A status is keyed by session because compaction keeps a key's record
// written last whichever replica wrote it: the replica a worker left, reporting
// the end of its session late, would otherwise overwrite the status of the
// newer session on the replica it joined. Within a session one replica (the
// one holding the worker's connection) writes, in order.
func lastTopicKey(m tracking.Message) string {
	if m.Kind == tracking.KindStatus {
		return m.Team + "/" + m.Worker + "/status/" + strconv.FormatInt(m.Time, 10)
	}
	return m.Team + "/" + m.Worker
}

// flushLast hands the pending last known messages to the producer, each in
// its team's partition of LastTopic. It returns false, keeping what was not
// sent, if abort is closed first.
func (b *Broadcaster) flushLast(abort <-chan struct{}) bool {
	in := b.producer.Input()
	for k, m := range b.lastw.pending {
		rec := &sarama.ProducerMessage{
			Topic:     b.cfg.LastTopic,
			Key:       sarama.StringEncoder(lastTopicKey(m)),
			Value:     sarama.ByteEncoder(frame(m)),
			Partition: partitionOf(k.team, b.nLast),
		}
		select {
		case in <- rec:
			delete(b.lastw.pending, k)
			b.lastw.written[k] = tracking.Message{Kind: m.Kind, Time: m.Time, Received: m.Received}
		case <-abort:
			return false
		}
	}
	if b.lastw.flushes++; b.lastw.flushes%64 == 0 {
		b.lastw.forget(time.Now().Add(-b.cfg.StaleAfter).UnixNano())
	}
	return true
}
