package memory

import (
	"context"
	"slices"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// stream is a team's retained positions, oldest first, for Since.
type stream struct {
	seq     uint64             // offset of the newest position ever appended
	trimmed uint64             // offset of the newest position dropped by the window
	msgs    []tracking.Message // with offsets
}

// append gives m the team's next offset and retains it, dropping positions
// received longer than window ago. Called with be.mu held for writing.
func (be *Backend) append(m tracking.Message, window time.Duration) tracking.Offset {
	s := be.stream[m.Team]
	if s == nil {
		s = &stream{}
		be.stream[m.Team] = s
	}
	s.seq++
	m.Offset = tracking.Offset{Epoch: be.epoch, Seq: s.seq}
	s.trim(time.Now().Add(-window).UnixNano())
	s.msgs = append(s.msgs, m)
	return m.Offset
}

func (s *stream) trim(cutoff int64) {
	n := 0
	for n < len(s.msgs) && s.msgs[n].Received < cutoff {
		n++
	}
	if n == 0 {
		return
	}
	s.trimmed = s.msgs[n-1].Offset.Seq
	s.msgs = slices.Delete(s.msgs, 0, n)
}

// Since returns team's retained positions after after (see tracking.Broadcaster).
func (b *Broadcaster) Since(ctx context.Context, team string, after tracking.Offset, limit int) ([]tracking.Message, tracking.Offset, error) {
	if b.isClosed() {
		return nil, tracking.Offset{}, tracking.ErrClosed
	}
	be := b.backend
	be.mu.Lock()
	defer be.mu.Unlock()
	s := be.stream[team]
	if s == nil {
		s = &stream{}
		be.stream[team] = s
	}
	s.trim(time.Now().Add(-b.window).UnixNano())
	head := tracking.Offset{Epoch: be.epoch, Seq: s.seq}
	if after.IsZero() {
		return nil, head, nil
	}
	if after.Epoch != be.epoch || after.Seq > s.seq || after.Seq < s.trimmed {
		return nil, head, tracking.ErrGap
	}
	i, _ := slices.BinarySearchFunc(s.msgs, after.Seq, func(m tracking.Message, seq uint64) int {
		return cmpUint(m.Offset.Seq, seq)
	})
	if i < len(s.msgs) && s.msgs[i].Offset.Seq == after.Seq {
		i++
	}
	if len(s.msgs)-i > limit {
		return nil, head, tracking.ErrGap
	}
	return slices.Clone(s.msgs[i:]), head, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
