package kafkabroadcast

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// Since returns team's positions after after, read from the team's partition
// of the positions topic up to the high-water mark taken when it starts (see
// the package doc, Resuming). With a zero after, head is a mark at that
// high-water mark, or, when the team is watched on this replica, at the
// record its partition reader delivers next. ErrGap when after is of another
// epoch, beyond the high-water mark, no longer retained (older than
// Config.Retention), or when more than limit positions follow it.
func (b *Broadcaster) Since(ctx context.Context, team string, after tracking.Offset, limit int) ([]tracking.Message, tracking.Offset, error) {
	if err := tracking.ValidTeam(team); err != nil {
		return nil, tracking.Offset{}, err
	}
	if !b.begin() {
		return nil, tracking.Offset{}, tracking.ErrClosed
	}
	defer b.ops.Done()
	topic, p := b.cfg.Topic, partitionOf(team, b.nPos)
	fail := func(err error) ([]tracking.Message, tracking.Offset, error) {
		if ctx.Err() != nil || errors.Is(err, tracking.ErrClosed) {
			return nil, tracking.Offset{}, err
		}
		return nil, tracking.Offset{}, fmt.Errorf("positions of team %s after %v: %w", team, after, unavailable("cannot read "+topic, err))
	}

	// The epoch is looked up on every call, not taken from a cache: a
	// replica that has not noticed the topic being created again would
	// otherwise resume an old offset against new records.
	epoch, err := b.refreshEpoch(p)
	if err != nil {
		return fail(err)
	}
	if after.IsZero() {
		if next, ok := b.delivered(team); ok {
			return nil, headMark(epoch, next), nil
		}
	}
	hwm, err := b.offset(topic, p, sarama.OffsetNewest)
	if err != nil {
		return fail(err)
	}
	head := headMark(epoch, hwm)
	if after.IsZero() {
		return nil, head, nil
	}
	if after.Epoch != epoch || after.Seq > uint64(hwm) {
		return nil, head, tracking.ErrGap
	}
	from := firstRecord(after)
	if from >= hwm {
		return nil, after, nil
	}
	oldest, err := b.offset(topic, p, sarama.OffsetOldest)
	if err != nil {
		return fail(err)
	}
	// A position's record must still be there, even when it was the
	// record's last position: the frame does not say how many it holds.
	if from < oldest {
		return nil, head, tracking.ErrGap
	}

	var msgs, decoded []tracking.Message
	err = b.readRange(ctx, topic, p, from, hwm, func(rec record) bool {
		if string(rec.Key) != team {
			return true
		}
		var err error
		decoded, err = wire.DecodeFrame(decoded[:0], team, bytes.Clone(rec.Value))
		if err != nil {
			b.m.consumeErrors.Inc()
			b.log.Warn("undecodable position record", "topic", topic, "partition", p, "offset", rec.Offset, "err", err)
		}
		for i, m := range decoded {
			m.Offset = positionOffset(epoch, rec.Offset, i)
			if m.Offset.After(after) { // the first record may hold positions up to after
				msgs = append(msgs, m)
			}
		}
		return len(msgs) <= limit
	})
	switch {
	case errors.Is(err, sarama.ErrOffsetOutOfRange): // retention deleted records meanwhile
		return nil, head, tracking.ErrGap
	case err != nil:
		return fail(err)
	case len(msgs) > limit:
		return nil, head, tracking.ErrGap
	case len(msgs) == 0:
		return nil, after, nil
	}
	return msgs, msgs[len(msgs)-1].Offset, nil
}

// delivered returns the Kafka offset of the next record the partition reader
// of team delivers, when team is watched on this replica: every position of
// team before it has been handed to the subscription and is in the team's
// Last cache. A head there, rather than at the high-water mark, is one that
// a snapshot taken after it (Last) covers: a record between the two would be
// in neither the snapshot nor, being before the head, the live stream.
func (b *Broadcaster) delivered(team string) (int64, bool) {
	r, ts := b.watched(team)
	if ts == nil {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next, true
}
