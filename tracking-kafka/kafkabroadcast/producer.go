package kafkabroadcast

import (
	"context"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// Publish queues msgs for the producer and returns at once: the queue absorbs
// the producer's back-pressure so that a caller never waits for the broker.
// msgs are queued all or none: tracking.ErrOverloaded when the queue has no
// room for all of them.
func (b *Broadcaster) Publish(ctx context.Context, msgs ...tracking.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	b.pubMu.RLock()
	defer b.pubMu.RUnlock()
	if b.pubClosed {
		return tracking.ErrClosed
	}
	n := int64(len(msgs))
	if b.queued.Add(n) > int64(b.cfg.QueueSize) {
		b.queued.Add(-n)
		return tracking.ErrOverloaded
	}
	// The slots are reserved: these sends never block.
	for _, m := range msgs {
		b.queue <- m
	}
	return nil
}

// pump is the one goroutine that feeds the producer: live positions as they
// are queued, and every LastInterval the last known positions gathered since
// the previous tick. After quit it drains the queue within CloseGrace.
func (b *Broadcaster) pump() {
	defer b.wg.Done()
	defer close(b.pumpDone)
	tick := time.NewTicker(b.cfg.LastInterval)
	defer tick.Stop()
	in := b.producer.Input()
	for {
		select {
		case m := <-b.queue:
			b.queued.Add(-1)
			rec := b.positionRecord(m)
			select {
			case in <- rec:
			case <-b.quit:
				b.drain(rec)
				return
			}
		case <-tick.C:
			if !b.flushLast(b.quit) {
				b.drain(nil)
				return
			}
		case <-b.quit:
			b.drain(nil)
			return
		}
	}
}

// drain hands pending, the queued positions, then the last known positions to
// the producer until CloseGrace runs out; what remains is counted as publish
// errors. Publish no longer adds to the queue.
func (b *Broadcaster) drain(pending *sarama.ProducerMessage) {
	over := make(chan struct{})
	grace := time.AfterFunc(b.cfg.CloseGrace, func() { close(over) })
	defer grace.Stop()
	in := b.producer.Input()
	dropped := 0
	send := func(rec *sarama.ProducerMessage) {
		if dropped == 0 {
			select {
			case in <- rec:
				return
			case <-over:
			}
		}
		dropped++
	}
	if pending != nil {
		send(pending)
	}
	for more := true; more; {
		select {
		case m := <-b.queue:
			b.queued.Add(-1)
			if dropped == 0 {
				send(b.positionRecord(m))
			} else {
				dropped++
			}
		default:
			more = false
		}
	}
	if dropped > 0 || !b.flushLast(over) {
		dropped += b.lastw.reset()
	}
	if dropped > 0 {
		b.m.publishErrors.Add(float64(dropped))
		b.log.Error("positions not handed to kafka within the close grace", "count", dropped)
	}
}

func (b *Broadcaster) positionRecord(m tracking.Message) *sarama.ProducerMessage {
	b.lastw.note(m)
	b.m.published.Inc()
	return &sarama.ProducerMessage{
		Topic:     b.cfg.Topic,
		Key:       sarama.StringEncoder(m.Team),
		Value:     sarama.ByteEncoder(frame(m)),
		Partition: partitionOf(m.Team, b.nPos),
	}
}

// frame is the record value of one position: a one-message frame.
func frame(m tracking.Message) []byte {
	const varintMax = 10 // a version byte and three varints of header
	return wire.AppendFrame(make([]byte, 0, 1+3*varintMax+len(m.Worker)+len(m.JSON)), m)
}

// producerErrors counts and logs what the producer could not deliver, until
// the producer has closed. Logs are summarised to one line per second so that
// an outage does not flood them; the counter has every error.
func (b *Broadcaster) producerErrors() {
	defer b.wg.Done()
	var (
		lastLog    time.Time
		suppressed int
	)
	for pe := range b.producer.Errors() {
		b.m.publishErrors.Inc()
		if now := time.Now(); now.Sub(lastLog) >= time.Second {
			b.log.Error("kafka publish failed", "topic", pe.Msg.Topic, "partition", pe.Msg.Partition,
				"err", pe.Err, "similar_errors_not_logged", suppressed)
			lastLog, suppressed = now, 0
		} else {
			suppressed++
		}
	}
	if suppressed > 0 {
		b.log.Error("kafka publish failed", "similar_errors_not_logged", suppressed)
	}
}
