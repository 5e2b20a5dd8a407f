package kafkabroadcast

import (
	"bytes"
	"errors"
	"sync"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// maxBatch bounds the records gathered for one round of deliveries.
const maxBatch = 512

// reader consumes one partition of the positions topic for the teams of this
// replica that live in it, and delivers their records to the subscriptions.
// It exists while at least one subscription needs it, and for
// Config.ReaderLinger after the last one ended (subscription.go).
type reader struct {
	b    *Broadcaster
	p    int32
	prev *reader // the previous reader of p: it must have released the partition first

	// Guarded by b.mu.
	refs      int         // subscriptions using the reader
	linger    *time.Timer // runs while refs is 0: retires the reader when it fires
	lingerGen uint64      // counts lingers; a timer of an earlier one does nothing

	ready    chan struct{} // closed once start has returned; err is its result
	err      error
	stop     chan struct{} // closed when the last subscription ends
	stopOnce sync.Once
	done     chan struct{} // closed once the partition is released

	// mu guards teams and is held while delivering, so that a subscription
	// removed under it is never called again.
	mu    sync.Mutex
	teams map[string]*teamState

	// Owned by the run goroutine.
	pc      sarama.PartitionConsumer
	next    int64 // offset of the next record to read; written under mu once run has started
	batch   []*sarama.ConsumerMessage
	touched []*teamState
}

// teamState is one watched team on this replica.
type teamState struct {
	name    string
	sub     *subscription
	pending []tracking.Message // the team's records of the batch being delivered
	touched bool

	// Last known positions and statuses while watched (last.go).
	last      map[lastOf]tracking.Message // per worker and kind, from live records and LastTopic reads
	watchedAt time.Time                   // when the team became watched
	from      int64                       // offset of the first record read live for the team
	loadedAt  time.Time                   // when the latest LastTopic read merged into last began; zero before
	loading   chan struct{}               // one-slot semaphore: one LastTopic read at a time
}

func newReader(b *Broadcaster, p int32, prev *reader) *reader {
	return &reader{
		b: b, p: p, prev: prev,
		ready: make(chan struct{}),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		teams: make(map[string]*teamState),
	}
}

// start begins consuming at the partition's current end, so that every record
// produced after start returns is read. It runs in a Subscribe call.
func (r *reader) start() (err error) {
	defer func() {
		if err != nil {
			close(r.done)
		}
	}()
	if r.prev != nil {
		<-r.prev.done // sarama consumes a partition once per consumer
		r.prev = nil  // and no chain of stopped readers stays reachable
	}
	b := r.b
	offset, err := b.offset(b.cfg.Topic, r.p, sarama.OffsetNewest)
	if err != nil {
		return err
	}
	pc, err := b.consumer.ConsumePartition(b.cfg.Topic, r.p, offset)
	if err != nil {
		return err
	}
	r.pc, r.next = pc, offset
	b.m.partitions.Inc()
	b.wg.Add(1) // Close waits for Subscribe calls before it waits for wg
	go r.run()
	return nil
}

// stopReader signals the reader to release its partition.
func (r *reader) stopReader() { r.stopOnce.Do(func() { close(r.stop) }) }

func (r *reader) run() {
	b := r.b
	defer b.wg.Done()
	defer close(r.done)
	defer b.m.partitions.Dec()
	wait := backoff(250*time.Millisecond, 5*time.Second)
	attempt := 0
	for {
		if r.pc != nil {
			if r.consume() {
				return
			}
			r.pc, attempt = nil, 0
		}
		attempt++
		select {
		case <-r.stop:
			return
		case <-time.After(wait(attempt)):
		}
		if err := r.restart(); err != nil {
			b.m.consumeErrors.Inc()
			b.log.Warn("restart partition consumer", "topic", b.cfg.Topic, "partition", r.p,
				"offset", r.next, "attempt", attempt, "err", err)
		}
	}
}

// restart consumes again from the next offset, or from the end of the
// partition when that offset is gone. It looks the epoch up first: a
// partition consumer gives up when its offset is out of range, as it is when
// the topic has been deleted and created again.
func (r *reader) restart() error {
	b := r.b
	if _, err := b.refreshEpoch(r.p); err != nil {
		return err
	}
	pc, err := b.consumer.ConsumePartition(b.cfg.Topic, r.p, r.next)
	if errors.Is(err, sarama.ErrOffsetOutOfRange) {
		b.log.Warn("offset out of range; resuming at the end of the partition, positions may be lost",
			"topic", b.cfg.Topic, "partition", r.p, "offset", r.next)
		var newest int64
		if newest, err = b.offset(b.cfg.Topic, r.p, sarama.OffsetNewest); err != nil {
			return err
		}
		if pc, err = b.consumer.ConsumePartition(b.cfg.Topic, r.p, newest); err == nil {
			r.mu.Lock()
			r.next = newest // a head taken from the reader (Since) is where it reads
			r.mu.Unlock()
		}
	}
	if err != nil {
		return err
	}
	b.log.Info("partition consumer restarted", "topic", b.cfg.Topic, "partition", r.p)
	r.pc = pc
	return nil
}

// consume delivers records until the reader is stopped (true) or the
// partition consumer gives up by itself (false). Sarama retries broker errors
// on its own; it gives up when the offset is out of range.
func (r *reader) consume() (stopped bool) {
	b := r.b
	msgs, errs := r.pc.Messages(), r.pc.Errors()
	for {
		select {
		case <-r.stop:
			r.pc.AsyncClose()
			drainConsumer(msgs, errs, nil)
			return true
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			b.m.consumeErrors.Inc()
			b.log.Warn("consume positions", "topic", b.cfg.Topic, "partition", r.p, "err", err.Err)
		case msg, ok := <-msgs:
			if !ok {
				drainConsumer(nil, errs, func(err *sarama.ConsumerError) {
					b.m.consumeErrors.Inc()
					b.log.Warn("consume positions", "topic", b.cfg.Topic, "partition", r.p, "err", err.Err)
				})
				b.log.Warn("partition consumer stopped; restarting", "topic", b.cfg.Topic, "partition", r.p, "offset", r.next)
				return false
			}
			// Take what else is already buffered: one round of deliveries for
			// what one fetch returned. Only this goroutine receives, so these
			// receives do not block.
			r.batch = append(r.batch[:0], msg)
			for n := len(msgs); n > 0 && len(r.batch) < maxBatch; n-- {
				r.batch = append(r.batch, <-msgs)
			}
			r.deliver(r.batch)
			clear(r.batch)
		}
	}
}

// drainConsumer empties a closing partition consumer's channels until sarama
// closes them, passing errors to onErr if it is not nil.
func drainConsumer(msgs <-chan *sarama.ConsumerMessage, errs <-chan *sarama.ConsumerError, onErr func(*sarama.ConsumerError)) {
	for msgs != nil || errs != nil {
		select {
		case _, ok := <-msgs:
			if !ok {
				msgs = nil
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
			} else if onErr != nil {
				onErr(err)
			}
		}
	}
}

// deliver filters batch by key (team), decodes the records of watched teams,
// gives each position its Offset and calls each team's handlers once with
// all its positions of the batch.
func (r *reader) deliver(batch []*sarama.ConsumerMessage) {
	b := r.b
	epoch := b.epoch(r.p)
	size := 0
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range batch {
		r.next = rec.Offset + 1
		size += len(rec.Key) + len(rec.Value)
		ts := r.teams[string(rec.Key)]
		if ts == nil {
			continue
		}
		// rec.Value aliases sarama's fetch buffer: a copy keeps a position
		// held by a manager's queue from pinning a whole fetch response.
		var err error
		n := len(ts.pending)
		ts.pending, err = wire.DecodeFrame(ts.pending, ts.name, bytes.Clone(rec.Value))
		if err != nil {
			b.m.consumeErrors.Inc()
			b.log.Warn("undecodable position record", "topic", b.cfg.Topic, "partition", r.p, "offset", rec.Offset, "err", err)
		}
		for i := n; i < len(ts.pending); i++ {
			ts.pending[i].Offset = positionOffset(epoch, rec.Offset, i-n)
		}
		if !ts.touched && len(ts.pending) > 0 {
			ts.touched = true
			r.touched = append(r.touched, ts)
		}
	}
	for _, ts := range r.touched {
		ts.remember(ts.pending)
		ts.sub.h(ts.pending)
		clear(ts.pending)
		ts.pending, ts.touched = ts.pending[:0], false
	}
	clear(r.touched)
	r.touched = r.touched[:0]
	b.m.consumedRecords.Add(float64(len(batch)))
	b.m.consumedBytes.Add(float64(size))
}

func (r *reader) add(s *subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.teams[s.team]
	if ts == nil {
		ts = &teamState{
			name:      s.team,
			last:      make(map[lastOf]tracking.Message),
			watchedAt: time.Now(),
			from:      r.next,
			loading:   make(chan struct{}, 1),
		}
		r.teams[s.team] = ts
	}
	ts.sub = s
}

// remove takes s out of the deliveries; once it returns, s.h is not called again.
func (r *reader) remove(s *subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ts := r.teams[s.team]; ts != nil && ts.sub == s {
		delete(r.teams, s.team)
	}
}
