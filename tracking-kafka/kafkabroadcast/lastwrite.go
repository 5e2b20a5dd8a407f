package kafkabroadcast

import (
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
)

type workerKey struct{ team, worker string }

// lastWriter throttles the writes of last known positions to LastTopic: it
// keeps the newest position of each worker published since the last tick, and
// the pump writes them all at each tick. So a worker is written at most once
// per LastInterval, and its latest position always within one interval. Only
// the pump goroutine uses it.
//
// Compaction keeps the record written last, so a late record with an older
// fix must never be written after a newer one: written remembers the fix time
// of each worker's newest write (forgotten once that write is stale).
type lastWriter struct {
	pending map[workerKey]tracking.Message
	written map[workerKey]writtenFix
	flushes int
}

type writtenFix struct{ fix, received int64 }

func newLastWriter() *lastWriter {
	return &lastWriter{pending: make(map[workerKey]tracking.Message), written: make(map[workerKey]writtenFix)}
}

func (w *lastWriter) note(m tracking.Message) {
	k := workerKey{m.Team, m.Worker}
	if prev, ok := w.pending[k]; ok && prev.Time > m.Time {
		return
	}
	if prev, ok := w.written[k]; ok && prev.fix > m.Time {
		return
	}
	w.pending[k] = m
}

// forget drops what it remembers of writes received before cutoff.
func (w *lastWriter) forget(cutoff int64) {
	for k, f := range w.written {
		if f.received < cutoff {
			delete(w.written, k)
		}
	}
}

// reset forgets the pending positions and returns how many there were.
func (w *lastWriter) reset() int {
	n := len(w.pending)
	clear(w.pending)
	return n
}

// lastKey is the LastTopic key of a worker. Team and worker names cannot hold
// a '/' (tracking.ValidateID), so the key is unambiguous.
func lastKey(team, worker string) string { return team + "/" + worker }

// flushLast hands the pending last known positions to the producer, each in
// its team's partition of LastTopic. It returns false, keeping what was not
// sent, if abort is closed first.
func (b *Broadcaster) flushLast(abort <-chan struct{}) bool {
	in := b.producer.Input()
	for k, m := range b.lastw.pending {
		rec := &sarama.ProducerMessage{
			Topic:     b.cfg.LastTopic,
			Key:       sarama.StringEncoder(lastKey(k.team, k.worker)),
			Value:     sarama.ByteEncoder(frame(m)),
			Partition: partitionOf(k.team, b.nLast),
		}
		select {
		case in <- rec:
			delete(b.lastw.pending, k)
			b.lastw.written[k] = writtenFix{m.Time, m.Received}
		case <-abort:
			return false
		}
	}
	if b.lastw.flushes++; b.lastw.flushes%64 == 0 {
		b.lastw.forget(time.Now().Add(-b.cfg.StaleAfter).UnixNano())
	}
	return true
}
