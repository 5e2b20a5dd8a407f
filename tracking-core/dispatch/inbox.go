package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/wire"
)

// Inbox delivers the messages of one worker to one of its connections:
// its pending messages first, oldest first, then those sent while it is
// connected. Reply records the worker's acks and read receipts.
type Inbox struct {
	d            *Dispatcher
	team, worker string
	send         func(frame []byte) error

	live   chan []byte   // payloads from the mailbox, in order
	resync atomic.Bool   // live overflowed: read the store again
	poke   chan struct{} // wakes run after a resync was asked
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	sent    map[string]time.Time     // ids written to the connection -> the message's creation
	fifo    []string                 // sent's ids, oldest first, to bound it
	marking map[string]chan struct{} // ids being written and marked delivered: closed once marked
}

// maxRemembered bounds the ids an inbox remembers having sent.
const maxRemembered = 4096

// Open starts delivering worker's messages (of team) through send, which
// writes one frame to the worker's connection (an error ends delivery:
// the connection is gone). Close it when the connection ends.
func (d *Dispatcher) Open(team, worker string, send func(frame []byte) error) *Inbox {
	ctx, cancel := context.WithCancel(d.ctx)
	in := &Inbox{d: d, team: team, worker: worker, send: send, live: make(chan []byte, d.cfg.InboxBacklog),
		poke: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{}), sent: make(map[string]time.Time)}
	d.m.inboxes.Inc()
	go in.run()
	return in
}

// Close stops delivery and waits for it. Idempotent.
func (in *Inbox) Close() {
	in.cancel()
	<-in.done
}

// handle is the mailbox's h: it must not block.
func (in *Inbox) handle(payload []byte) {
	select {
	case in.live <- payload:
	default:
		// The connection writes slower than messages come: they are all
		// in the store, which the inbox reads again once it catches up.
		in.resync.Store(true)
		select {
		case in.poke <- struct{}{}:
		default:
		}
	}
}

func (in *Inbox) run() {
	defer close(in.done)
	defer in.d.m.inboxes.Dec()
	sub := in.listen()
	defer func() {
		if sub != nil {
			sub.Unsubscribe()
		}
	}()
	if !in.deliverPending() {
		return
	}
	for {
		select {
		case <-in.ctx.Done():
			return
		case p := <-in.live:
			if !in.deliverLive(p) {
				return
			}
		case <-in.poke:
		}
		if in.resync.Swap(false) && !in.deliverPending() {
			return
		}
	}
}

// listen listens on the worker's address, retrying while the broker
// refuses (the pending messages are read meanwhile, and again once the
// listen is in place). Nil when the inbox is closed first.
func (in *Inbox) listen() tracking.Subscription {
	addr := tracking.Address{Team: in.team, Worker: in.worker}
	backoff := 100 * time.Millisecond
	for {
		sub, err := in.d.cfg.Mailbox.Listen(in.ctx, addr, in.handle)
		if err == nil {
			return sub
		}
		if in.ctx.Err() != nil || errors.Is(err, tracking.ErrClosed) {
			return nil
		}
		in.d.m.failures.WithLabelValues("listen").Inc()
		in.d.log.Warn("dispatch: listen for a worker's messages", "team", in.team, "worker", in.worker, "err", err)
		in.resync.Store(true)
		select {
		case <-in.ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// deliverPending sends what the store holds for the worker and it has not
// been sent on this connection. False when the connection is gone.
func (in *Inbox) deliverPending() bool {
	ctx, cancel := context.WithTimeout(in.ctx, 30*time.Second)
	defer cancel()
	pending, err := in.d.cfg.Store.Pending(ctx, in.team, in.worker, in.d.cfg.Now(), in.d.cfg.PendingLimit)
	if err != nil {
		if in.ctx.Err() == nil {
			in.d.m.failures.WithLabelValues("pending").Inc()
			in.d.log.Warn("dispatch: pending messages", "team", in.team, "worker", in.worker, "err", err)
			in.resync.Store(true) // try again with the next live message
		}
		return in.ctx.Err() == nil
	}
	for _, m := range pending {
		if !in.deliver(m.ID, m.CreatedAt, wire.AppendDispatch(nil, m.ID, m.Body, m.CreatedAt, m.ExpiresAt)) {
			return false
		}
	}
	return true
}

// deliverLive sends a payload posted by Send (a wire.AppendDispatch frame).
func (in *Inbox) deliverLive(frame []byte) bool {
	var head struct {
		ID        string    `json:"id"`
		SentAt    time.Time `json:"sentAt"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	if err := json.Unmarshal(frame, &head); err != nil || head.ID == "" {
		in.d.m.failures.WithLabelValues("decode").Inc()
		in.d.log.Warn("dispatch: undecodable mail dropped", "team", in.team, "worker", in.worker, "err", err)
		return true
	}
	if !in.d.cfg.Now().Before(head.ExpiresAt) {
		return true
	}
	return in.deliver(head.ID, head.SentAt, frame)
}

// deliver writes frame unless id was written already, then marks it
// delivered. False when the connection is gone.
func (in *Inbox) deliver(id string, created time.Time, frame []byte) bool {
	in.mu.Lock()
	_, dup := in.sent[id]
	in.mu.Unlock()
	if dup {
		return true
	}
	// Remembered first: the worker may ack before send returns; its ack
	// waits for the delivered mark, so that the states come in order.
	marked := make(chan struct{})
	in.remember(id, created, marked)
	defer func() {
		in.mu.Lock()
		delete(in.marking, id)
		in.mu.Unlock()
		close(marked)
	}()
	if err := in.send(frame); err != nil {
		return false
	}
	_, _ = in.mark(id, messaging.StateDelivered)
	return true
}

func (in *Inbox) remember(id string, created time.Time, marked chan struct{}) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.marking == nil {
		in.marking = make(map[string]chan struct{}, 1)
	}
	in.marking[id] = marked
	in.sent[id] = created
	in.fifo = append(in.fifo, id)
	if len(in.fifo) > maxRemembered {
		delete(in.sent, in.fifo[0])
		in.fifo = in.fifo[1:]
	}
}

// mark records a state of the worker's recipient of id and publishes the
// change if this call made it.
func (in *Inbox) mark(id string, state messaging.State) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(in.ctx), 10*time.Second)
	defer cancel()
	now := in.d.cfg.Now()
	changed, err := in.d.cfg.Store.Mark(ctx, in.team, id, in.worker, state, now)
	if err != nil {
		if tracking.ErrorCode(err) == tracking.CodeInternal {
			in.d.m.failures.WithLabelValues("mark").Inc()
			in.d.log.Warn("dispatch: mark", "team", in.team, "worker", in.worker, "id", id, "state", state, "err", err)
		}
		return false, err
	}
	if changed {
		in.d.publish(ctx, wire.Delivery{Team: in.team, Worker: in.worker, MessageID: id, State: string(state), At: messaging.Stamp(now)})
	}
	return changed, nil
}

// Reply records the worker's reply: wire.TypeAck or wire.TypeRead of
// message id. A reply to a message the worker is not a recipient of is a
// *tracking.Error (not_found); one that changes nothing (a second ack, an
// ack after the ttl) is no error.
func (in *Inbox) Reply(typ, id string) error {
	var state messaging.State
	switch typ {
	case wire.TypeAck:
		state = messaging.StateAcked
	case wire.TypeRead:
		state = messaging.StateRead
	default:
		return &tracking.Error{Code: tracking.CodeInvalidField, Field: "type",
			Message: "a worker's reply is ack or read, got " + typ}
	}
	if err := tracking.ValidateID("id", id, 64); err != nil {
		return err
	}
	in.mu.Lock()
	marked := in.marking[id]
	in.mu.Unlock()
	if marked != nil {
		select {
		case <-marked:
		case <-time.After(10 * time.Second): // the store's bound on the mark
		}
	}
	changed, err := in.mark(id, state)
	if err != nil {
		return err
	}
	if changed && state == messaging.StateAcked {
		in.mu.Lock()
		created, ok := in.sent[id]
		in.mu.Unlock()
		if ok {
			in.d.m.ackSeconds.Observe(in.d.cfg.Now().Sub(created).Seconds())
		}
	}
	return nil
}
