package kafkabroadcast

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
)

var _ tracking.StateStore = (*Broadcaster)(nil)

// stateFormat is the first byte of a state record's value, before the state
// itself: a record of StateTopic that does not start with it was not written
// by SaveState (and a later format can take another byte). No frame version
// is that high, which mattered while states were records of LastTopic.
const stateFormat = 0xff

// stateTopicKey is the StateTopic key of a worker's state.
func stateTopicKey(team, worker string) string { return team + "/" + worker }

// isStateKey reports whether key, a LastTopic key of a team (it has the
// team's prefix), is a worker state's: "team/worker/state". Replicas before
// StateTopic kept states there; Last skips those records until LastTopic's
// retention drops them. Team and worker names cannot hold a '/'
// (tracking.ValidateID), so it is told apart from a position's "team/worker"
// (of a worker called "state" too) and a status's
// "team/worker/status/<session>".
func isStateKey(key []byte) bool {
	i := bytes.IndexByte(key, '/')
	if i < 0 {
		return false
	}
	rest := key[i+1:]
	j := bytes.IndexByte(rest, '/')
	return j >= 0 && string(rest[j+1:]) == "state"
}

// validStateOwner checks the names a state is kept under.
func validStateOwner(team, worker string) error {
	if err := tracking.ValidTeam(team); err != nil {
		return err
	}
	return tracking.ValidateID("worker", worker, 64)
}

// stateAck is the Metadata of a state record: the state producer's result
// for it (nil once the broker has acknowledged it) is sent there.
type stateAck chan error

// stateAcks hands each SaveState its record's result from the state
// producer, until the producer has closed.
func (b *Broadcaster) stateAcks() {
	defer b.wg.Done()
	successes, errs := b.stateProducer.Successes(), b.stateProducer.Errors()
	for successes != nil || errs != nil {
		select {
		case msg, ok := <-successes:
			if !ok {
				successes = nil
				continue
			}
			msg.Metadata.(stateAck) <- nil // buffered
		case pe, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			b.m.publishErrors.Inc()
			pe.Msg.Metadata.(stateAck) <- pe.Err // buffered; SaveState returns it
		}
	}
}

// SaveState writes state as the worker's record (key "team/worker") in the
// team's partition of StateTopic and waits for the broker's
// acknowledgement (from all in-sync replicas): a LoadState that starts on any
// replica after SaveState has returned sees it. Not throttled: states are
// saved on geofence events, not on every position. A producer of their own
// (idempotent, one request in flight) and the team's single partition keep
// one replica's saves in order. A nil state writes a tombstone: LoadState
// answers nil.
//
// When ctx ends first, the save may still land. While Close runs, SaveState
// waits at most CloseGrace for the acknowledgement.
func (b *Broadcaster) SaveState(ctx context.Context, team, worker string, state []byte) error {
	if err := validStateOwner(team, worker); err != nil {
		return err
	}
	if len(state) > tracking.MaxStateSize {
		return tracking.Errorf(tracking.CodeTooLarge, "worker state of %d bytes is over %d", len(state), tracking.MaxStateSize)
	}
	if !b.begin() {
		return tracking.ErrClosed
	}
	defer b.ops.Done() // Close closes the state producer only after this

	var value sarama.Encoder // a tombstone
	if state != nil {
		v := make([]byte, 0, 1+len(state))
		value = sarama.ByteEncoder(append(append(v, stateFormat), state...))
	}
	acked := make(stateAck, 1)
	rec := &sarama.ProducerMessage{
		Topic:     b.cfg.StateTopic,
		Key:       sarama.StringEncoder(stateTopicKey(team, worker)),
		Value:     value,
		Partition: partitionOf(team, b.nState),
		Metadata:  acked,
	}
	fail := func(err error) error { return fmt.Errorf("save state of %s/%s: %w", team, worker, err) }
	select {
	case b.stateProducer.Input() <- rec:
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-b.quit:
		return tracking.ErrClosed
	}

	result := func(err error) error {
		if err != nil {
			return fail(unavailable("cannot save the worker state", err))
		}
		return nil
	}
	select {
	case err := <-acked:
		return result(err)
	case <-ctx.Done():
		return fail(fmt.Errorf("%w (the state may be saved still)", ctx.Err()))
	case <-b.quit:
	}
	// Close waits for this call before it closes the state producer, which
	// goes on sending meanwhile.
	grace := time.NewTimer(b.cfg.CloseGrace)
	defer grace.Stop()
	select {
	case err := <-acked:
		return result(err)
	case <-ctx.Done():
		return fail(fmt.Errorf("%w (the state may be saved still)", ctx.Err()))
	case <-grace.C:
		return fail(fmt.Errorf("%w: no acknowledgement within the close grace (the state may be saved still)", tracking.ErrClosed))
	}
}

// LoadState returns the worker's state: the value of the newest record of
// its key in the team's partition of StateTopic up to the high-water mark
// taken after the call began, nil when there is none (never saved, or a
// tombstone). StateTopic is compacted only: a state is not dropped by age.
//
// The states of each partition of StateTopic are indexed in memory
// (stateIndex): a LoadState reads only the records written since the
// previous read of the partition, and LoadStates that wait while a read is in
// progress are answered together by the next one.
func (b *Broadcaster) LoadState(ctx context.Context, team, worker string) ([]byte, error) {
	if err := validStateOwner(team, worker); err != nil {
		return nil, err
	}
	if !b.begin() {
		return nil, tracking.ErrClosed
	}
	defer b.ops.Done()
	p := partitionOf(team, b.nState)
	b.mu.Lock()
	idx := b.states[p]
	if idx == nil {
		idx = &stateIndex{p: p, turn: make(chan struct{}, 1)}
		b.states[p] = idx
	}
	b.mu.Unlock()
	state, err := b.loadState(ctx, idx, stateTopicKey(team, worker))
	if err != nil {
		return nil, fmt.Errorf("load state of %s/%s: %w", team, worker, err)
	}
	return state, nil
}

// stateIndex holds the states of one partition of StateTopic, every team's,
// as of a read of it up to an offset. It is brought up to date by reading
// the partition's records from that offset to the high-water mark. The
// topic is compacted only, so nothing the index holds expires: it is built
// anew from the partition's oldest record only when it cannot follow on
// from where it ends:
//   - the topic is not the one it was built from (another topic ID: deleted
//     and created again, even once the new offsets have passed the index's);
//   - the offsets do not follow on (high-water mark below it, records
//     deleted past it);
//   - the previous read is b.stateIdle old: compaction removes a tombstone
//     (and the state it deleted) once it has been in a cleaned segment for
//     the topic's delete.retention.ms, and one written after a read and
//     removed before the next would leave the deleted state in the index.
//     Half of it, so that clocks apart and the cleaner's timing do not
//     matter.
//
// Without topic IDs (brokers or KafkaVersion before 2.8), a topic created
// again whose offsets have passed the index's is not told apart, so the
// index is also built anew once StaleAfter old.
type stateIndex struct {
	p    int32
	turn chan struct{} // one-slot semaphore: held while reading or answering

	mu      sync.Mutex // guards started and done
	started uint64     // reads begun
	done    uint64     // the number of the latest read that completed

	// Held with turn.
	states  map[string][]byte // by key; nil before the first read
	next    int64             // offset the next read starts at
	dataID  string            // of StateTopic when states was built (lookupDataID)
	builtAt time.Time         // when the read that built states from the oldest record began
	readAt  time.Time         // when the latest read that completed began
}

// loadState answers the state of key from idx, after a read of the partition
// that began after this call did: its own, or one another call made while
// this one waited for its turn.
func (b *Broadcaster) loadState(ctx context.Context, idx *stateIndex, key string) ([]byte, error) {
	idx.mu.Lock()
	seen := idx.started
	idx.mu.Unlock()
	select {
	case idx.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.quit:
		return nil, tracking.ErrClosed
	}
	defer func() { <-idx.turn }()
	idx.mu.Lock()
	current := idx.done > seen
	idx.mu.Unlock()
	if !current {
		if err := b.readStates(ctx, idx); err != nil {
			return nil, err
		}
	}
	return bytes.Clone(idx.states[key]), nil
}

// readStates brings idx up to the partition's high-water mark. The caller
// holds idx.turn.
func (b *Broadcaster) readStates(ctx context.Context, idx *stateIndex) error {
	idx.mu.Lock()
	idx.started++
	n := idx.started
	idx.mu.Unlock()

	topic := b.cfg.StateTopic
	began := time.Now()
	// The topic's identity before its high-water mark: the records up to the
	// mark are of that topic, or of a later one, which the next read tells
	// apart.
	id, fromTopicID, err := b.lookupDataID(topic)
	var hwm int64
	if err == nil {
		hwm, err = b.offset(topic, idx.p, sarama.OffsetNewest)
	}
	if errors.Is(err, tracking.ErrClosed) {
		return err
	} else if err != nil {
		return unavailable("cannot read "+topic, err)
	}
	if err := b.foldStates(ctx, idx, began, id, fromTopicID, hwm); err != nil {
		return err
	}
	idx.mu.Lock()
	idx.done = n
	idx.mu.Unlock()
	return nil
}

// foldStates brings idx from idx.next to hwm, or builds it anew from the
// partition's oldest record when it cannot follow on (stateIndex).
func (b *Broadcaster) foldStates(ctx context.Context, idx *stateIndex, began time.Time, id string, fromTopicID bool, hwm int64) error {
	rebuild := idx.states == nil || id != idx.dataID || hwm < idx.next ||
		began.Sub(idx.readAt) >= b.stateIdle ||
		(!fromTopicID && began.Sub(idx.builtAt) >= b.cfg.StaleAfter)
	if !rebuild {
		// Records visited are folded in as they come: a read that fails
		// midway leaves idx.next where it was, and the next read folds them
		// again, to the same result.
		err := b.scanStates(ctx, idx.p, idx.next, hwm, idx.states)
		if errors.Is(err, sarama.ErrOffsetOutOfRange) { // deleted past idx.next
			rebuild = true
		} else if err != nil {
			return err
		}
	}
	if rebuild {
		if idx.states != nil {
			b.log.Debug("building the index of worker states anew", "topic", b.cfg.StateTopic, "partition", idx.p,
				"new_topic", id != idx.dataID, "from", idx.next, "high_water_mark", hwm)
		}
		states := make(map[string][]byte)
		err := b.scanStates(ctx, idx.p, sarama.OffsetOldest, hwm, states)
		if errors.Is(err, sarama.ErrOffsetOutOfRange) { // records deleted at the head meanwhile
			clear(states)
			err = b.scanStates(ctx, idx.p, sarama.OffsetOldest, hwm, states)
		}
		if err != nil {
			return err
		}
		idx.states, idx.builtAt, idx.dataID = states, began, id
	}
	idx.next, idx.readAt = hwm, began
	return nil
}

// scanStates folds the state records of partition p of StateTopic in
// [from, to) into states. Errors other than ctx's, Close's and
// sarama.ErrOffsetOutOfRange are wrapped as unavailable.
func (b *Broadcaster) scanStates(ctx context.Context, p int32, from, to int64, states map[string][]byte) error {
	topic := b.cfg.StateTopic
	records := 0
	defer func() { b.m.stateRecords.Add(float64(records)) }()
	err := b.readRange(ctx, topic, p, from, to, func(rec record) bool {
		records++
		switch {
		case rec.Value == nil: // a tombstone
			delete(states, string(rec.Key))
		case len(rec.Value) > 0 && rec.Value[0] == stateFormat:
			states[string(rec.Key)] = bytes.Clone(rec.Value[1:])
		default:
			// Not written by SaveState: taken as no state, which costs
			// the worker's geofence transitions being worked out anew.
			delete(states, string(rec.Key))
			b.m.consumeErrors.Inc()
			b.log.Warn("undecodable state record", "topic", topic, "partition", p, "offset", rec.Offset, "key", string(rec.Key))
		}
		return true
	})
	switch {
	case err == nil, ctx.Err() != nil, errors.Is(err, tracking.ErrClosed), errors.Is(err, sarama.ErrOffsetOutOfRange):
		return err
	}
	return unavailable("cannot read "+topic, err)
}
