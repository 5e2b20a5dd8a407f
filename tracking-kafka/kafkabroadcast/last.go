package kafkabroadcast

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// Last returns the last known position and status of each worker of team,
// each unless received longer than StaleAfter ago. For a team watched on this
// replica they come from its cache (filled by one read of LastTopic and kept
// current by the live records); otherwise Last reads the team's partition of
// LastTopic up to its high-water mark.
func (b *Broadcaster) Last(ctx context.Context, team string) ([]tracking.Message, error) {
	if err := tracking.ValidTeam(team); err != nil {
		return nil, err
	}
	if !b.begin() {
		return nil, tracking.ErrClosed
	}
	defer b.ops.Done()
	cutoff := time.Now().Add(-b.cfg.StaleAfter).UnixNano()
	if r, ts := b.watched(team); ts != nil {
		return b.cachedLast(ctx, r, ts, cutoff)
	}
	last, err := b.readLast(ctx, team)
	if err != nil {
		return nil, err
	}
	out := make([]tracking.Message, 0, len(last))
	for _, m := range last {
		if m.Received >= cutoff {
			out = append(out, m)
		}
	}
	return out, nil
}

// watched returns the reader and state of team if it is watched here.
func (b *Broadcaster) watched(team string) (*reader, *teamState) {
	b.mu.Lock()
	r := b.readers[partitionOf(team, b.nPos)]
	b.mu.Unlock()
	if r == nil {
		return nil, nil
	}
	select {
	case <-r.ready:
	default:
		return nil, nil
	}
	if r.err != nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r, r.teams[team]
}

// cachedLast answers from ts's cache, reading LastTopic and the positions
// published just before the team became watched (readRecent) into it first
// when it has not been read yet. A read that began within lastSettle of the team
// becoming watched can miss a throttled write still on its way (positions
// published just before the live records were followed), so the first Last
// after that reads once more.
func (b *Broadcaster) cachedLast(ctx context.Context, r *reader, ts *teamState, cutoff int64) ([]tracking.Message, error) {
	select {
	case ts.loading <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.quit:
		return nil, tracking.ErrClosed
	}
	defer func() { <-ts.loading }()

	now := time.Now()
	settled := ts.watchedAt.Add(b.cfg.LastInterval + time.Second)
	r.mu.Lock()
	current := !ts.loadedAt.IsZero() && (!ts.loadedAt.Before(settled) || now.Before(settled))
	r.mu.Unlock()
	if !current {
		read, err := b.readLast(ctx, ts.name)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		from := ts.from
		r.mu.Unlock()
		recent, err := b.readRecent(ctx, ts.name, from)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		for _, m := range read {
			keepLast(ts.last, m)
		}
		for _, m := range recent {
			keepLast(ts.last, m)
		}
		ts.loadedAt = now
		r.mu.Unlock()
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]tracking.Message, 0, len(ts.last))
	for k, m := range ts.last {
		if m.Received < cutoff {
			delete(ts.last, k)
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// lastOf names one message Last keeps of a team: a worker's last of a kind.
type lastOf struct {
	worker string
	kind   tracking.Kind
}

// keptInLast reports whether Last keeps messages of kind k: positions and
// statuses, not alerts.
func keptInLast(k tracking.Kind) bool { return k == tracking.KindPosition || k == tracking.KindStatus }

// keepLast folds m into last: m becomes its worker's last of its kind unless
// the one last holds supersedes it (tracking.Message.Supersedes). Alerts are
// not kept.
func keepLast(last map[lastOf]tracking.Message, m tracking.Message) {
	if !keptInLast(m.Kind) {
		return
	}
	k := lastOf{m.Worker, m.Kind}
	if prev, ok := last[k]; !ok || m.Supersedes(&prev) {
		last[k] = m
	}
}

// remember folds msgs into the cache. The caller holds the reader's lock.
func (ts *teamState) remember(msgs []tracking.Message) {
	for _, m := range msgs {
		keepLast(ts.last, m)
	}
}

// readLast reads team's partition of LastTopic from its oldest record up to
// the high-water mark taken when it starts, and returns the last position and
// status of each worker of team (of its records, positions are keyed
// "team/worker", statuses "team/worker/status/<session>": see lastTopicKey;
// the worker states keyed "team/worker/state" are skipped).
func (b *Broadcaster) readLast(ctx context.Context, team string) (map[lastOf]tracking.Message, error) {
	topic, p := b.cfg.LastTopic, partitionOf(team, b.nLast)
	hwm, err := b.offset(topic, p, sarama.OffsetNewest)
	if err != nil {
		return nil, b.scanError(topic, team, err)
	}
	oldest, err := b.offset(topic, p, sarama.OffsetOldest)
	if err != nil {
		return nil, b.scanError(topic, team, err)
	}
	prefix := []byte(team + "/")
	return b.scan(ctx, topic, p, oldest, hwm, team, func(key []byte) bool {
		return bytes.HasPrefix(key, prefix) && !isStateKey(key) // worker states are not messages (state.go)
	})
}

// recentLookback bounds how far back readRecent reads the positions topic: a
// few seconds of a busy partition.
const recentLookback = 8192

// readRecent returns the last position and status per worker of team among
// the records of the positions topic just before offset from (at most
// recentLookback back): messages published shortly before the team became
// watched here, which the live reader did not see and whose throttled
// LastTopic write may still be on its way.
func (b *Broadcaster) readRecent(ctx context.Context, team string, from int64) (map[lastOf]tracking.Message, error) {
	topic, p := b.cfg.Topic, partitionOf(team, b.nPos)
	oldest, err := b.offset(topic, p, sarama.OffsetOldest)
	if err != nil {
		return nil, b.scanError(topic, team, err)
	}
	return b.scan(ctx, topic, p, max(oldest, from-recentLookback), from, team, func(key []byte) bool { return string(key) == team })
}

func (b *Broadcaster) scanError(topic, team string, err error) error {
	return fmt.Errorf("last known messages of team %s: %w", team, unavailable("cannot read "+topic, err))
}

// scan reads partition p of topic from offset from up to (not including) to,
// and returns the last position and status per worker of team (keepLast)
// among the records whose key matches.
func (b *Broadcaster) scan(ctx context.Context, topic string, p int32, from, to int64, team string, match func(key []byte) bool) (map[lastOf]tracking.Message, error) {
	out := make(map[lastOf]tracking.Message)
	var (
		decoded []tracking.Message
		records int
	)
	visit := func(rec record) bool {
		records++
		if !match(rec.Key) {
			return true
		}
		var err error
		decoded, err = wire.DecodeFrame(decoded[:0], team, bytes.Clone(rec.Value))
		if err != nil {
			b.m.consumeErrors.Inc()
			b.log.Warn("undecodable position record", "topic", topic, "partition", p, "offset", rec.Offset, "err", err)
		}
		for _, m := range decoded {
			keepLast(out, m)
		}
		return true
	}
	defer func() { b.m.lastRecords.Add(float64(records)) }()
	err := b.readRange(ctx, topic, p, from, to, visit)
	if errors.Is(err, sarama.ErrOffsetOutOfRange) { // retention deleted the head meanwhile
		err = b.readRange(ctx, topic, p, sarama.OffsetOldest, to, visit)
	}
	switch {
	case err == nil:
		return out, nil
	case ctx.Err() != nil, errors.Is(err, tracking.ErrClosed):
		return nil, err
	}
	return nil, b.scanError(topic, team, err)
}
