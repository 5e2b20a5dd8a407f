package kafkabroadcast

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
)

// readStall bounds the wait for the next record while reading a partition up
// to a high-water mark taken before: the records are there, so a longer wait
// means the broker is not answering.
const readStall = 5 * time.Second

// readRange calls visit with each record of partition p of topic from offset
// from up to (not including) to, in offset order, on the control client;
// visit returns false to stop early. from may be sarama.OffsetOldest. It
// returns ctx.Err() or tracking.ErrClosed as they are, and an error wrapping
// sarama.ErrOffsetOutOfRange when from is no longer (or not yet) in the
// partition. Last (LastTopic and the recent positions) and Since read with it.
func (b *Broadcaster) readRange(ctx context.Context, topic string, p int32, from, to int64, visit func(*sarama.ConsumerMessage) bool) error {
	if to <= from {
		return nil
	}
	// A consumer of its own: concurrent reads of one partition must not
	// collide, and it goes away with the read.
	c, err := sarama.NewConsumerFromClient(b.control)
	if err != nil {
		return err
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, p, from)
	if err != nil {
		return err
	}
	defer func() {
		pc.AsyncClose()
		drainConsumer(pc.Messages(), pc.Errors(), nil)
	}()

	stall := time.NewTimer(readStall)
	defer stall.Stop()
	at := from // offset of the next record expected
	var lastErr error
	msgs, errs := pc.Messages(), pc.Errors()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.quit:
			return tracking.ErrClosed
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			lastErr = err.Err
		case <-stall.C:
			if lastErr == nil {
				lastErr = errors.New("no record for " + readStall.String())
			}
			return fmt.Errorf("stalled at offset %d of %d: %w", at, to, lastErr)
		case rec, ok := <-msgs:
			if !ok {
				return errors.New("partition consumer stopped")
			}
			at = rec.Offset + 1
			if rec.Offset < to && !visit(rec) {
				return nil
			}
			if rec.Offset >= to-1 {
				return nil
			}
			stall.Reset(readStall)
		}
	}
}
