package kafkabroadcast

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// Subscribe delivers team's positions to h from the partition reader of the
// team's partition, starting that reader if none runs (several teams share a
// partition: the readers are counted here; teams are counted by the hub). A
// new reader starts at the partition's current end before Subscribe returns;
// one already running, or lingering after its last subscription ended (see
// release), delivers to h from the record it reads next, which is at most
// the partition's end. Either way a position published after Subscribe
// returns is delivered. h runs on the reader's goroutine with the reader's
// lock held: it must not block, nor call back into the Broadcaster.
func (b *Broadcaster) Subscribe(ctx context.Context, team string, h tracking.Handler) (tracking.Subscription, error) {
	if err := tracking.ValidTeam(team); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("kafkabroadcast: subscribe with a nil handler")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !b.begin() {
		return nil, tracking.ErrClosed
	}
	defer b.ops.Done()

	p := partitionOf(team, b.nPos)
	s := &subscription{b: b, team: team, h: h, done: make(chan struct{})}
	b.mu.Lock()
	if b.subs[team] != nil {
		b.mu.Unlock()
		return nil, tracking.ErrSubscribed
	}
	b.subs[team] = s // holds the team's place while the reader starts
	r := b.readers[p]
	starter := r == nil
	if starter {
		r = newReader(b, p, b.prev[p])
		b.readers[p] = r
	}
	r.keep()
	r.refs++
	b.mu.Unlock()

	if starter {
		r.err = r.start()
		close(r.ready)
	}
	<-r.ready
	if r.err != nil {
		b.mu.Lock()
		delete(b.subs, team)
		b.mu.Unlock()
		b.release(r)
		return nil, fmt.Errorf("subscribe team %s: %w", team, unavailable("cannot read partition of the team", r.err))
	}
	s.r = r
	r.add(s)
	// Close waits for this call before it ends subscriptions, so stopCtx is
	// set before anyone can call Unsubscribe.
	s.stopCtx = context.AfterFunc(ctx, s.end)
	return s, nil
}

// release drops one reference to r. With the last, r lingers for
// Config.ReaderLinger before it stops: a manager who reconnects soon after
// (a resume, a lifetime reconnect, a page reload) subscribes without waiting
// for a partition consumer to stop and another to start (sarama's batching
// of new partition consumers and the fetch in flight of the old one cost
// ~100 ms). A reader that failed to start, or one released while Close runs,
// stops at once.
func (b *Broadcaster) release(r *reader) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r.refs--
	if r.refs > 0 {
		return
	}
	if r.err != nil || b.closed || b.readers[r.p] != r {
		b.retire(r)
		return
	}
	r.lingerGen++
	gen := r.lingerGen
	b.wg.Add(1) // done by the timer's function, or by keep when it stops the timer first
	r.linger = time.AfterFunc(b.cfg.ReaderLinger, func() {
		defer b.wg.Done()
		b.mu.Lock()
		defer b.mu.Unlock()
		if r.lingerGen == gen && r.refs == 0 {
			r.linger = nil
			b.log.Debug("partition reader stopped after its linger", "topic", b.cfg.Topic, "partition", r.p)
			b.retire(r)
		}
	})
}

// keep ends r's linger, if it lingers: a subscription uses it again, or it
// is retired. The caller holds b.mu.
func (r *reader) keep() {
	r.lingerGen++ // a timer that has fired already and waits for b.mu does nothing
	if r.linger != nil && r.linger.Stop() {
		r.b.wg.Done()
	}
	r.linger = nil
}

// retire stops r and takes it out of the readers. The caller holds b.mu.
func (b *Broadcaster) retire(r *reader) {
	r.keep()
	if b.readers[r.p] == r {
		delete(b.readers, r.p)
		b.prev[r.p] = r
	}
	r.stopReader()
}

// retireLingering stops the readers that linger with no subscription (Close).
func (b *Broadcaster) retireLingering() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.readers {
		if r.refs == 0 {
			b.retire(r)
		}
	}
}

type subscription struct {
	b       *Broadcaster
	r       *reader
	team    string
	h       tracking.Handler
	stopCtx func() bool // stops the context.AfterFunc that ends s with its ctx
	endOnce sync.Once
	done    chan struct{}
}

// Unsubscribe ends the subscription; once it returns, h is not called again.
func (s *subscription) Unsubscribe() {
	s.stopCtx()
	s.end()
}

func (s *subscription) Done() <-chan struct{} { return s.done }

// end runs once, from Unsubscribe, the end of the ctx given to Subscribe, or
// Close; concurrent callers wait until it has finished.
func (s *subscription) end() {
	s.endOnce.Do(func() {
		s.r.remove(s)
		s.b.mu.Lock()
		if s.b.subs[s.team] == s {
			delete(s.b.subs, s.team)
		}
		s.b.mu.Unlock()
		s.b.release(s.r)
		close(s.done)
	})
}
