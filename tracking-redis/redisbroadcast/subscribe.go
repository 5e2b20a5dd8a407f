package redisbroadcast

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// subscribeTimeout bounds the wait for Redis to confirm a SUBSCRIBE.
const subscribeTimeout = 5 * time.Second

type subscription struct {
	b         *Broadcaster
	team      string
	h         tracking.Handler
	confirmed chan struct{} // closed when Redis confirms the SUBSCRIBE
	stop      chan struct{}
	stopOnce  sync.Once
	done      chan struct{}
	endOnce   sync.Once
}

func (s *subscription) Unsubscribe() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

func (s *subscription) Done() <-chan struct{} { return s.done }

// Subscribe SUBSCRIBEs team's channel and waits for Redis to confirm it, so
// that a position published after it returns is delivered.
func (b *Broadcaster) Subscribe(ctx context.Context, team string, h tracking.Handler) (tracking.Subscription, error) {
	if err := tracking.ValidTeam(team); err != nil {
		return nil, err
	}
	s := &subscription{b: b, team: team, h: h,
		confirmed: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}

	b.subMu.Lock()
	select {
	case <-b.closing:
		b.subMu.Unlock()
		return nil, tracking.ErrClosed
	default:
	}
	if b.subs[team] != nil {
		b.subMu.Unlock()
		return nil, tracking.ErrSubscribed
	}
	b.subs[team] = s
	b.wg.Add(1) // under subMu, so that Close cannot have begun its Wait
	b.subMu.Unlock()
	b.m.channels.Inc()

	err := b.psSubscribe(ctx, b.channel(team))
	if err == nil {
		timer := time.NewTimer(subscribeTimeout)
		select {
		case <-s.confirmed:
		case <-timer.C:
			err = errors.New("no confirmation from redis")
		case <-ctx.Done():
			err = ctx.Err()
		case <-b.closing:
			err = tracking.ErrClosed
		}
		timer.Stop()
	}
	if err != nil {
		s.end()
		b.wg.Done()
		return nil, fmt.Errorf("subscribe team %s: %w", team, err)
	}

	go func() {
		defer b.wg.Done()
		select {
		case <-ctx.Done():
		case <-s.stop:
		case <-b.closing:
		}
		s.end()
	}()
	return s, nil
}

// end removes s and UNSUBSCRIBEs its channel. Taking subMu for writing waits
// for a dispatch in progress, so h is not called once end returns.
func (s *subscription) end() {
	s.endOnce.Do(func() {
		b := s.b
		b.subMu.Lock()
		if b.subs[s.team] == s {
			delete(b.subs, s.team)
		}
		b.subMu.Unlock()
		b.m.channels.Dec()
		select {
		case <-b.closing: // the connection is going away anyway
		default:
			ctx, cancel := context.WithTimeout(context.Background(), subscribeTimeout)
			if err := b.psUnsubscribe(ctx, b.channel(s.team)); err != nil {
				b.log.Debug("unsubscribe", "team", s.team, "err", err)
			}
			cancel()
		}
		close(s.done)
	})
}

// endAll ends every subscription (Close).
func (b *Broadcaster) endAll() {
	b.subMu.RLock()
	all := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		all = append(all, s)
	}
	b.subMu.RUnlock()
	for _, s := range all {
		s.end()
	}
}

// read receives from the pub/sub connection until Close, dispatching each
// batch to the team's handlers. go-redis reconnects and resubscribes on the
// next receive after an error; the loop backs off while Redis is unreachable.
func (b *Broadcaster) read() {
	defer b.wg.Done()
	ctx := context.Background()
	var msgs []tracking.Message
	backoff := 50 * time.Millisecond
	for {
		v, err := b.ps.ReceiveTimeout(ctx, 30*time.Second)
		if err != nil {
			select {
			case <-b.closing:
				return
			default:
			}
			var nerr interface{ Timeout() bool }
			if errors.As(err, &nerr) && nerr.Timeout() {
				_ = b.ps.Ping(ctx) // an idle connection: check it is alive
				continue
			}
			b.log.Warn("redis pub/sub receive", "err", err, "retry_in", backoff.String())
			select {
			case <-time.After(backoff):
			case <-b.closing:
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		msgs = b.handle(v, msgs)
	}
}

// psSubscribe subscribes ch: SUBSCRIBE on the one pub/sub connection, or
// SSUBSCRIBE on its team's connection in a cluster.
func (b *Broadcaster) psSubscribe(ctx context.Context, ch string) error {
	if b.cluster != nil {
		return b.shards.subscribe(ctx, b, ch)
	}
	return b.ps.Subscribe(ctx, ch)
}

// psUnsubscribe undoes psSubscribe.
func (b *Broadcaster) psUnsubscribe(ctx context.Context, ch string) error {
	if b.cluster != nil {
		return b.shards.unsubscribe(ctx, ch)
	}
	return b.ps.Unsubscribe(ctx, ch)
}

// handle is what a reader does with what it received; msgs is its buffer.
func (b *Broadcaster) handle(v any, msgs []tracking.Message) []tracking.Message {
	switch v := v.(type) {
	case *redis.Message:
		return b.dispatch(v, msgs[:0])
	case *redis.Subscription:
		if v.Kind == "subscribe" || v.Kind == "ssubscribe" {
			b.confirm(v.Channel)
		}
	}
	return msgs
}

// confirm marks the subscription of ch as in place at Redis.
func (b *Broadcaster) confirm(ch string) {
	if b.isMailChannel(ch) {
		b.confirmMail(ch)
		return
	}
	team, ok := b.teamOf(ch)
	if !ok {
		return
	}
	b.subMu.RLock()
	s := b.subs[team]
	b.subMu.RUnlock()
	if s != nil {
		select {
		case <-s.confirmed:
		default:
			close(s.confirmed)
		}
	}
}

func (b *Broadcaster) dispatch(v *redis.Message, msgs []tracking.Message) []tracking.Message {
	if b.isMailChannel(v.Channel) {
		b.deliverMail(v)
		return msgs
	}
	team, ok := b.teamOf(v.Channel)
	if !ok {
		return msgs
	}
	// The payload string is never modified: alias it instead of copying.
	payload := unsafe.Slice(unsafe.StringData(v.Payload), len(v.Payload))
	epoch, id, frame, err := splitPayload(payload)
	if err == nil {
		msgs, err = wire.DecodeFrame(msgs, team, frame)
	}
	if err != nil {
		b.log.Warn("undecodable payload on channel", "channel", v.Channel, "err", err)
		return msgs
	}
	for i := range msgs {
		msgs[i].Offset = id.offset(epoch, i)
	}
	b.m.received.Add(float64(len(msgs)))
	b.m.receivedBytes.Add(float64(len(payload)))
	b.subMu.RLock()
	if s := b.subs[team]; s != nil {
		s.h(msgs)
	}
	b.subMu.RUnlock()
	clear(msgs)
	return msgs
}
