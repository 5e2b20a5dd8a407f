package kafkabroadcast

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
)

// readStall bounds how long a read of a partition up to a high-water mark
// taken before goes without progress: the records are there, so a longer
// wait means the broker is not answering.
const readStall = 5 * time.Second

// record is one record of a partition as readRange hands it over. Key and
// Value alias the fetch response: a caller that keeps them copies them.
type record struct {
	Offset     int64
	Key, Value []byte
}

// readRange calls visit with each record of partition p of topic from offset
// from up to (not including) to, in offset order, on the control client;
// visit returns false to stop early. from may be sarama.OffsetOldest. It
// returns ctx.Err() or tracking.ErrClosed as they are, and an error wrapping
// sarama.ErrOffsetOutOfRange when from is no longer (or not yet) in the
// partition. Last (LastTopic and the recent positions) and Since read with it.
//
// It sends Fetch requests to the partition's leader itself rather than
// through a sarama Consumer: a partition consumer looks up two offsets and
// waits for sarama's batching of new subscriptions (100 ms) before its first
// fetch, which a bounded read of records that exist need not pay.
func (b *Broadcaster) readRange(ctx context.Context, topic string, p int32, from, to int64, visit func(record) bool) error {
	if to <= from {
		return nil
	}
	if from < 0 {
		oldest, err := b.offset(topic, p, from)
		if err != nil {
			return err
		}
		if from = oldest; to <= from {
			return nil
		}
	}
	f := fetcher{b: b, topic: topic, p: p, at: from, to: to, size: b.fetchBytes}
	deadline := time.Now().Add(readStall) // moves on with every fetch that brings records
	var (
		lastErr error
		failed  bool // the previous fetch failed: refresh the metadata first
	)
	for f.at < to {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.quit:
			return tracking.ErrClosed
		default:
		}
		if !time.Now().Before(deadline) {
			if lastErr == nil {
				lastErr = errors.New("no record for " + readStall.String())
			}
			return fmt.Errorf("stalled at offset %d of %d: %w", f.at, to, lastErr)
		}
		block, err := f.fetch(ctx, deadline, failed)
		if err == nil && !errors.Is(block.Err, sarama.ErrNoError) {
			if errors.Is(block.Err, sarama.ErrOffsetOutOfRange) {
				return fmt.Errorf("read %s/%d at offset %d (log start %d, high-water mark %d): %w",
					topic, p, f.at, block.LogStartOffset, block.HighWaterMarkOffset, block.Err)
			}
			err = block.Err
		}
		switch {
		case err == nil:
			failed = false
		case errors.Is(err, errStopped):
			continue // the checks above say why
		default:
			// Not the leader any more, no leader yet, a connection lost:
			// the next fetch asks the cluster where the partition lives.
			lastErr, failed = err, true
			b.pause(ctx, 50*time.Millisecond)
			continue
		}
		at := f.at
		if done := f.visitBlock(block, visit); done {
			return nil
		}
		if f.at > at {
			deadline = time.Now().Add(readStall)
		}
	}
	return nil
}

// errStopped: a fetch was abandoned because ctx ended, the Broadcaster is
// closing or the stall bound passed.
var errStopped = errors.New("fetch abandoned")

// fetcher is the state of one readRange.
type fetcher struct {
	b     *Broadcaster
	topic string
	p     int32
	at    int64 // offset of the next record wanted
	to    int64
	size  int32 // the partition's byte limit in a fetch; doubles for a batch larger than it
}

type fetchResult struct {
	block *sarama.FetchResponseBlock
	err   error
}

// fetch sends one Fetch request for the partition at f.at to its leader,
// after refreshing the topic's metadata when refresh is set (the previous
// fetch failed), and returns the partition's block of the response. It runs
// on a goroutine of its own so that ctx, Close and the stall deadline end
// the wait (errStopped); one abandoned ends by itself (the records are
// there, or a timeout of the connection ends it, or Close closing the
// clients does).
func (f *fetcher) fetch(ctx context.Context, deadline time.Time, refresh bool) (*sarama.FetchResponseBlock, error) {
	b := f.b
	conf := b.control.Config()
	req := &sarama.FetchRequest{
		Version:     fetchVersion(conf.Version),
		MaxWaitTime: int32(conf.Consumer.MaxWaitTime / time.Millisecond),
		MinBytes:    1,
		Isolation:   sarama.ReadUncommitted,
	}
	if req.Version >= 3 {
		req.MaxBytes = max(f.size, conf.Consumer.Fetch.MaxBytes)
	}
	if req.Version >= 7 {
		// No fetch session (KIP-227): a one-off full fetch.
		req.SessionID, req.SessionEpoch = 0, -1
	}
	req.AddBlock(f.topic, f.p, f.at, f.size, -1)

	res := make(chan fetchResult, 1)
	b.fetches.Add(1)
	go func() {
		defer b.fetches.Done()
		if refresh {
			_ = b.control.RefreshMetadata(f.topic) // an error shows in Leader or Fetch
		}
		broker, err := b.control.Leader(f.topic, f.p)
		if err != nil {
			res <- fetchResult{err: fmt.Errorf("leader of %s/%d: %w", f.topic, f.p, err)}
			return
		}
		resp, err := broker.Fetch(req)
		if err != nil {
			// As sarama does after a failed request: the next Leader call
			// opens a fresh connection.
			_ = broker.Close()
			res <- fetchResult{err: fmt.Errorf("fetch %s/%d from broker %d: %w", f.topic, f.p, broker.ID(), err)}
			return
		}
		if resp.ErrorCode != 0 {
			res <- fetchResult{err: fmt.Errorf("fetch %s/%d: %w", f.topic, f.p, sarama.KError(resp.ErrorCode))}
			return
		}
		block := resp.GetBlock(f.topic, f.p)
		if block == nil {
			res <- fetchResult{err: fmt.Errorf("fetch %s/%d: %w", f.topic, f.p, sarama.ErrIncompleteResponse)}
			return
		}
		res <- fetchResult{block: block}
	}()
	stall := time.NewTimer(time.Until(deadline))
	defer stall.Stop()
	select {
	case r := <-res:
		return r.block, r.err
	case <-ctx.Done():
	case <-b.quit:
	case <-stall.C:
	}
	return nil, errStopped
}

// visitBlock calls visit with the block's records in [f.at, f.to) and moves
// f.at past what the block holds. It returns true once the read is over:
// every record before f.to visited, or visit returned false.
func (f *fetcher) visitBlock(block *sarama.FetchResponseBlock, visit func(record) bool) (done bool) {
	start := f.at
	// A batch holding f.at starts where it starts: records before f.at are
	// skipped, and f.at only moves forward.
	each := func(offset int64, key, value []byte) (more bool) {
		if offset < f.at {
			return true
		}
		if offset >= f.to {
			return false
		}
		f.at = offset + 1
		return visit(record{Offset: offset, Key: key, Value: value})
	}
	partial := block.Partial
	for _, rs := range block.RecordsSet {
		switch {
		case rs.RecordBatch != nil:
			batch := rs.RecordBatch
			if batch.PartialTrailingRecord {
				partial = true
				break
			}
			if !batch.Control { // transaction markers are not records of ours
				for _, rec := range batch.Records {
					if !each(batch.FirstOffset+rec.OffsetDelta, rec.Key, rec.Value) {
						return true
					}
				}
			}
			// Past the whole batch, records removed by compaction included.
			f.at = max(f.at, batch.LastOffset()+1)
		case rs.MsgSet != nil:
			// Message format v0/v1; sarama has unwrapped compressed sets.
			for _, mb := range rs.MsgSet.Messages {
				inner := mb.Messages()
				for _, msg := range inner {
					offset := msg.Offset
					if msg.Msg.Version >= 1 {
						// The inner offsets of a v1 wrapper are relative; the
						// wrapper has the absolute offset of the last one.
						offset += mb.Offset - inner[len(inner)-1].Offset
					}
					if !each(offset, msg.Msg.Key, msg.Msg.Value) {
						return true
					}
				}
			}
			partial = partial || rs.MsgSet.PartialTrailingMessage
		}
		if f.at >= f.to {
			return true
		}
	}
	switch {
	case len(block.RecordsSet) == 0 && !block.Partial && block.HighWaterMarkOffset >= f.to:
		// Nothing but empty batches (compaction keeps those of idempotent
		// producers) from f.at to the end: no record is left before f.to.
		return true
	case partial && f.at == start && f.size < math.MaxInt32/2:
		// The next batch is larger than the limit: ask for more.
		f.size *= 2
	}
	return false
}

// fetchVersion is the Fetch request version for a cluster of version v, as
// sarama's consumer picks it (sarama lowers it further to what the broker
// announces).
func fetchVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_7_0_0):
		return 12
	case v.IsAtLeast(sarama.V2_3_0_0):
		return 11
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 10
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 8
	case v.IsAtLeast(sarama.V1_1_0_0):
		return 7
	case v.IsAtLeast(sarama.V1_0_0_0):
		return 6
	case v.IsAtLeast(sarama.V0_11_0_0):
		return 5
	case v.IsAtLeast(sarama.V0_10_1_0):
		return 3
	case v.IsAtLeast(sarama.V0_10_0_0):
		return 2
	case v.IsAtLeast(sarama.V0_9_0_0):
		return 1
	}
	return 0
}

// pause waits d, or less when ctx ends or the Broadcaster closes.
func (b *Broadcaster) pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-b.quit:
	}
}
