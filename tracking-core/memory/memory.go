package memory

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// Backend plays the broker: it holds the subscriptions of every replica and
// the last known positions.
type Backend struct {
	// publish serialises Publish: the handlers of a subscription are called
	// one at a time, as from a broker's delivery goroutine (tracking.Handler),
	// and in the order of the offsets given.
	publish sync.Mutex
	mu      sync.RWMutex
	epoch   uint64
	subs    map[string][]*subscription // team -> one subscription per subscribed replica
	last    map[string]map[lastKey]tracking.Message
	stream  map[string]*stream   // team -> its retained positions
	states  map[[2]string][]byte // {team, worker} -> state (tracking.StateStore)
	mail    mailboxes            // tracking.Mailbox, see mailbox.go
}

// NewBackend returns an empty shared backend with a fresh epoch.
func NewBackend() *Backend {
	return &Backend{
		epoch:  rand.Uint64() | 1, // never zero
		subs:   make(map[string][]*subscription),
		last:   make(map[string]map[lastKey]tracking.Message),
		stream: make(map[string]*stream),
	}
}

// lastKey is a worker's last message of one kind.
type lastKey struct {
	worker string
	kind   tracking.Kind
}

// Config tunes a memory Broadcaster.
type Config struct {
	// StaleAfter is how long a last known position is served. Default 10 minutes.
	StaleAfter time.Duration
	// ResumeWindow is how long positions are kept for Since, by receipt
	// time. Default 15 minutes. The window is the backend's: the first
	// replica's setting wins.
	ResumeWindow time.Duration
}

// Broadcaster is one replica's view of a Backend.
type Broadcaster struct {
	backend    *Backend
	staleAfter time.Duration
	window     time.Duration

	mu      sync.Mutex
	closed  bool
	subs    map[string]*subscription // by team: one each (the hub counts watchers)
	listens map[*listen]struct{}     // tracking.Mailbox, see mailbox.go
	wg      sync.WaitGroup
}

var _ tracking.Broadcaster = (*Broadcaster)(nil)

// New returns a Broadcaster on backend.
func New(backend *Backend, cfg Config) *Broadcaster {
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 10 * time.Minute
	}
	if cfg.ResumeWindow <= 0 {
		cfg.ResumeWindow = 15 * time.Minute
	}
	return &Broadcaster{backend: backend, staleAfter: cfg.StaleAfter, window: cfg.ResumeWindow,
		subs: make(map[string]*subscription)}
}

// Publish delivers msgs synchronously: the handlers it calls do not block.
// Publishes are delivered one at a time, each in full, on the publisher's
// goroutine.
// A worker's last position is the one with the newest fix time; its last
// status the one that supersedes the others (tracking.Message.Supersedes).
func (b *Broadcaster) Publish(ctx context.Context, msgs ...tracking.Message) error {
	if b.isClosed() {
		return tracking.ErrClosed
	}
	be := b.backend
	msgs = slices.Clone(msgs) // the caller's slice is theirs; these get offsets
	be.publish.Lock()
	defer be.publish.Unlock()
	be.mu.Lock()
	for i, m := range msgs {
		msgs[i].Offset = be.append(m, b.window)
		m = msgs[i]
		if !m.Kind.InLast() {
			continue
		}
		team := be.last[m.Team]
		if team == nil {
			team = make(map[lastKey]tracking.Message)
			be.last[m.Team] = team
		}
		k := lastKey{m.Worker, m.Kind}
		if prev, ok := team[k]; !ok || m.Supersedes(&prev) {
			team[k] = m
		}
	}
	be.mu.Unlock()

	// Deliver under the read lock so that Unsubscribe (write lock) waits for
	// deliveries in progress.
	be.mu.RLock()
	defer be.mu.RUnlock()
	for start := 0; start < len(msgs); {
		end := start + 1
		for end < len(msgs) && msgs[end].Team == msgs[start].Team {
			end++
		}
		for _, s := range be.subs[msgs[start].Team] {
			s.h(msgs[start:end])
		}
		start = end
	}
	return nil
}

// Subscribe registers h for team until ctx is done or the subscription ends.
func (b *Broadcaster) Subscribe(ctx context.Context, team string, h tracking.Handler) (tracking.Subscription, error) {
	if err := tracking.ValidTeam(team); err != nil {
		return nil, err
	}
	s := &subscription{b: b, team: team, h: h, done: make(chan struct{}), stop: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, tracking.ErrClosed
	}
	if b.subs[team] != nil {
		b.mu.Unlock()
		return nil, tracking.ErrSubscribed
	}
	b.subs[team] = s
	b.wg.Add(1)
	b.mu.Unlock()

	be := b.backend
	be.mu.Lock()
	be.subs[team] = append(be.subs[team], s)
	be.mu.Unlock()

	go func() {
		defer b.wg.Done()
		select {
		case <-ctx.Done():
		case <-s.stop:
		}
		s.end()
	}()
	return s, nil
}

// Last returns the last known positions of team received within the
// staleness window.
func (b *Broadcaster) Last(ctx context.Context, team string) ([]tracking.Message, error) {
	if b.isClosed() {
		return nil, tracking.ErrClosed
	}
	cutoff := time.Now().Add(-b.staleAfter).UnixNano()
	be := b.backend
	be.mu.RLock()
	defer be.mu.RUnlock()
	out := make([]tracking.Message, 0, len(be.last[team]))
	for _, m := range be.last[team] {
		if m.Received >= cutoff {
			out = append(out, m)
		}
	}
	return out, nil
}

// Ready is nil until Close.
func (b *Broadcaster) Ready(ctx context.Context) error {
	if b.isClosed() {
		return tracking.ErrClosed
	}
	return nil
}

// Close ends every subscription and waits for their goroutines.
func (b *Broadcaster) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := slices.Collect(maps.Values(b.subs))
	b.mu.Unlock()
	for _, s := range subs {
		s.Unsubscribe()
	}
	b.endListens()
	b.wg.Wait()
	return nil
}

func (b *Broadcaster) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

type subscription struct {
	b        *Broadcaster
	team     string
	h        tracking.Handler
	stopOnce sync.Once
	stop     chan struct{}
	endOnce  sync.Once
	done     chan struct{}
}

func (s *subscription) Unsubscribe() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

func (s *subscription) Done() <-chan struct{} { return s.done }

func (s *subscription) end() {
	s.endOnce.Do(func() {
		be := s.b.backend
		be.mu.Lock()
		be.subs[s.team] = slices.DeleteFunc(be.subs[s.team], func(x *subscription) bool { return x == s })
		if len(be.subs[s.team]) == 0 {
			delete(be.subs, s.team)
		}
		be.mu.Unlock()
		s.b.mu.Lock()
		delete(s.b.subs, s.team)
		s.b.mu.Unlock()
		close(s.done)
	})
}

var _ tracking.StateStore = (*Broadcaster)(nil)

// SaveState keeps state as the worker's (see tracking.StateStore).
func (b *Broadcaster) SaveState(ctx context.Context, team, worker string, state []byte) error {
	if b.isClosed() {
		return tracking.ErrClosed
	}
	if len(state) > tracking.MaxStateSize {
		return tracking.Errorf(tracking.CodeTooLarge, "worker state of %d bytes is over %d", len(state), tracking.MaxStateSize)
	}
	be := b.backend
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.states == nil {
		be.states = make(map[[2]string][]byte)
	}
	be.states[[2]string{team, worker}] = slices.Clone(state)
	return nil
}

// LoadState returns the worker's state (see tracking.StateStore).
func (b *Broadcaster) LoadState(ctx context.Context, team, worker string) ([]byte, error) {
	if b.isClosed() {
		return nil, tracking.ErrClosed
	}
	be := b.backend
	be.mu.RLock()
	defer be.mu.RUnlock()
	return slices.Clone(be.states[[2]string{team, worker}]), nil
}
