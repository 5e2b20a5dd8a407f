package kafkabroadcast

import (
	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
)

type workerKey struct{ team, worker string }

// lastWriter throttles the writes of last known positions to LastTopic: it
// keeps the newest position of each worker published since the last tick, and
// the pump writes them all at each tick. So a worker is written at most once
// per LastInterval, and its latest position always within one interval. Only
// the pump goroutine uses it.
type lastWriter struct {
	pending map[workerKey]tracking.Message
}

func newLastWriter() *lastWriter {
	return &lastWriter{pending: make(map[workerKey]tracking.Message)}
}

func (w *lastWriter) note(m tracking.Message) {
	k := workerKey{m.Team, m.Worker}
	if prev, ok := w.pending[k]; ok && prev.Time > m.Time {
		return
	}
	w.pending[k] = m
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
		case <-abort:
			return false
		}
	}
	return true
}
