package memory

import (
	"context"
	"slices"
	"sync"

	tracking "github.com/teamtrack/tracking-core"
)

var _ tracking.Mailbox = (*Broadcaster)(nil)

// mailboxes are the Listens of every replica of a Backend, by address.
type mailboxes struct {
	// mu is held while delivering: one Post's handlers at a time, so that h
	// of an address is never called concurrently, and an ended listen (which
	// takes mu to leave) is not called once it has left.
	mu      sync.Mutex
	listens map[tracking.Address][]*listen
}

// Post delivers payload synchronously to the Listens of to on every replica
// of the backend (see tracking.Mailbox); their handlers do not block.
func (b *Broadcaster) Post(ctx context.Context, to tracking.Address, payload []byte) error {
	if err := tracking.CheckMail(to, payload); err != nil {
		return err
	}
	if b.isClosed() {
		return tracking.ErrClosed
	}
	mb := &b.backend.mail
	mb.mu.Lock()
	defer mb.mu.Unlock()
	ls := mb.listens[to]
	if len(ls) == 0 {
		return nil
	}
	payload = slices.Clone(payload) // the caller's again once Post returns; shared by the Listens
	for _, l := range ls {
		l.h(payload)
	}
	return nil
}

// Listen registers h for mail to `to` until ctx is done or the listen ends.
func (b *Broadcaster) Listen(ctx context.Context, to tracking.Address, h func(payload []byte)) (tracking.Subscription, error) {
	if err := to.Validate(); err != nil {
		return nil, err
	}
	l := &listen{b: b, to: to, h: h, stop: make(chan struct{}), done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, tracking.ErrClosed
	}
	if b.listens == nil {
		b.listens = make(map[*listen]struct{})
	}
	b.listens[l] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()

	mb := &b.backend.mail
	mb.mu.Lock()
	if mb.listens == nil {
		mb.listens = make(map[tracking.Address][]*listen)
	}
	mb.listens[to] = append(mb.listens[to], l)
	mb.mu.Unlock()

	go func() {
		defer b.wg.Done()
		select {
		case <-ctx.Done():
		case <-l.stop:
		}
		l.end()
	}()
	return l, nil
}

// endListens ends every listen of b (Close).
func (b *Broadcaster) endListens() {
	b.mu.Lock()
	all := make([]*listen, 0, len(b.listens))
	for l := range b.listens {
		all = append(all, l)
	}
	b.mu.Unlock()
	for _, l := range all {
		l.Unsubscribe()
	}
}

// listen is one Listen's standing: a tracking.Subscription.
type listen struct {
	b        *Broadcaster
	to       tracking.Address
	h        func(payload []byte)
	stopOnce sync.Once
	stop     chan struct{}
	endOnce  sync.Once
	done     chan struct{}
}

func (l *listen) Unsubscribe() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
}

func (l *listen) Done() <-chan struct{} { return l.done }

func (l *listen) end() {
	l.endOnce.Do(func() {
		mb := &l.b.backend.mail
		mb.mu.Lock()
		mb.listens[l.to] = slices.DeleteFunc(mb.listens[l.to], func(x *listen) bool { return x == l })
		if len(mb.listens[l.to]) == 0 {
			delete(mb.listens, l.to)
		}
		mb.mu.Unlock()
		l.b.mu.Lock()
		delete(l.b.listens, l)
		l.b.mu.Unlock()
		close(l.done)
	})
}
