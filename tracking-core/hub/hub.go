package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// Config tunes a Hub.
type Config struct {
	// Logger receives the hub's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the hub's metrics. Default: none.
	Registerer prometheus.Registerer
	// ResumeLimit is the most positions a resuming watcher is sent to catch
	// up; past it the watcher starts from a snapshot. Default 10,000.
	ResumeLimit int
}

// Start says where a watcher's stream begins.
type Start struct {
	// After, when not zero, resumes the stream after this offset: the
	// positions the watcher missed first, then live ones, none twice.
	// Zero starts from the team's snapshot.
	After tracking.Offset
}

// Started says how a watcher's stream began.
type Started struct {
	// Reset is true when Start.After could not be resumed from (see
	// tracking.ErrGap): the stream begins with a snapshot instead.
	Reset bool
	// Missed is how many positions a resumed stream replays.
	Missed int
}

// Hub is the local fan-out of one replica.
type Hub struct {
	b      tracking.Broadcaster
	cfg    Config
	log    *slog.Logger
	m      *metrics
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	teams  map[string]*team
	ending map[string]*team // teams whose last watcher left, until their subscription has ended
	closed bool
}

type team struct {
	name    string
	refs    int // guarded by Hub.mu
	ready   chan struct{}
	err     error // set before ready is closed
	sub     tracking.Subscription
	ended   chan struct{} // closed once sub has ended after the last watcher left
	queues  atomic.Pointer[[]*Queue]
	writeMu sync.Mutex // serialises copy-on-write updates of queues
	m       *metrics

	// Used by deliver only (the subscription's one delivery goroutine).
	statuses map[string]tracking.Message // per worker: the newest status seen (its identity as JSON)
	kept     []tracking.Message          // scratch: a batch without superseded statuses

	// Snapshot reads (see Hub.snapshot): the one under way, and the next,
	// which watchers that ask meanwhile join.
	flightMu sync.Mutex
	inflight *snapshotFlight
	pending  *snapshotFlight
}

// snapshotFlight is one read of a team's stream head and last positions,
// shared by every watcher that asked for it before it began.
type snapshotFlight struct {
	done     chan struct{}
	at       tracking.Offset
	snapshot []tracking.Message
	err      error
}

// New returns a hub over b.
func New(b tracking.Broadcaster, cfg Config) *Hub {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ResumeLimit <= 0 {
		cfg.ResumeLimit = 10_000
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{b: b, cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer), ctx: ctx, cancel: cancel,
		teams: make(map[string]*team), ending: make(map[string]*team)}
}

// Watch adds q to team's recipients, subscribing to the team at the broker if q
// is its first local watcher, and primes q: with the positions published
// after start.After when it can be resumed from, else with the team's last
// known positions and the stream's head (see Queue.Prime). The returned leave
// removes q; the broker subscription ends with the last one.
func (h *Hub) Watch(ctx context.Context, teamName string, q *Queue, start Start) (leave func(), started Started, err error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, started, tracking.ErrClosed
	}
	t := h.teams[teamName]
	first := t == nil
	var prev *team
	if first {
		prev = h.ending[teamName]
		t = &team{name: teamName, ready: make(chan struct{}), ended: make(chan struct{}), m: h.m}
		t.queues.Store(&[]*Queue{})
		h.teams[teamName] = t
		h.m.teams.Inc()
	}
	t.refs++
	h.mu.Unlock()

	var once sync.Once
	leave = func() { once.Do(func() { h.leave(t, q) }) }

	if first {
		if prev != nil {
			// A Broadcaster holds one subscription per team: the one of the
			// watchers that just left must end before this one begins.
			<-prev.ended
		}
		sub, err := h.b.Subscribe(h.ctx, teamName, t.deliver)
		t.sub, t.err = sub, err
		close(t.ready)
		if err != nil {
			h.log.Warn("subscribe failed", "team", teamName, "err", err)
		}
	}
	select {
	case <-t.ready:
	case <-ctx.Done():
		leave()
		return nil, started, ctx.Err()
	}
	if t.err != nil {
		leave()
		return nil, started, fmt.Errorf("watch team %s: %w", teamName, t.err)
	}
	t.add(q)
	h.m.queues.Inc()
	// q receives live positions from here on; what the broker returns now
	// overlaps them, and q drops the overlap by offset.
	if started, err = h.prime(ctx, t, q, start); err != nil {
		leave()
		return nil, started, err
	}
	return leave, started, nil
}

func (h *Hub) prime(ctx context.Context, t *team, q *Queue, start Start) (Started, error) {
	team := t.name
	var started Started
	if !start.After.IsZero() {
		missed, at, err := h.b.Since(ctx, team, start.After, h.cfg.ResumeLimit)
		switch {
		case err == nil:
			q.Resume(missed, at)
			h.m.resumes.WithLabelValues("resumed").Inc()
			h.m.replayed.Add(float64(len(missed)))
			return Started{Missed: len(missed)}, nil
		case errors.Is(err, tracking.ErrGap):
			started.Reset = true
			h.m.resumes.WithLabelValues("reset").Inc()
		default:
			return started, fmt.Errorf("resume team %s: %w", team, err)
		}
	}
	at, snapshot, err := h.snapshot(ctx, t)
	if err != nil {
		return started, err
	}
	q.Prime(snapshot, at)
	return started, nil
}

// snapshot reads t's stream head and last positions for a watcher whose
// queue is in place: any read that begins after that overlaps what the
// queue gets live, as Prime needs. Watchers that ask while a read is under
// way share the next one (a reconnect storm costs the broker two reads a
// team at a time, not one a watcher); Prime copies what it keeps, so they
// share the slice too.
func (h *Hub) snapshot(ctx context.Context, t *team) (tracking.Offset, []tracking.Message, error) {
	t.flightMu.Lock()
	f := t.pending
	if f == nil {
		f = &snapshotFlight{done: make(chan struct{})}
		prev := t.inflight
		if prev == nil {
			t.inflight = f
		} else {
			t.pending = f
		}
		go h.fly(t, f, prev)
	}
	t.flightMu.Unlock()
	select {
	case <-f.done:
		return f.at, f.snapshot, f.err
	case <-ctx.Done():
		return tracking.Offset{}, nil, ctx.Err()
	}
}

// fly makes the read of f once prev (if any) is done, with the hub's
// context: a watcher that gives up does not fail the others.
func (h *Hub) fly(t *team, f *snapshotFlight, prev *snapshotFlight) {
	defer close(f.done)
	if prev != nil {
		<-prev.done
		t.flightMu.Lock()
		t.inflight = f
		if t.pending == f {
			t.pending = nil // begun: later watchers wait for the next
		}
		t.flightMu.Unlock()
	}
	defer func() {
		t.flightMu.Lock()
		if t.inflight == f {
			t.inflight = nil
		}
		t.flightMu.Unlock()
	}()
	h.m.snapshotReads.Inc()
	_, at, err := h.b.Since(h.ctx, t.name, tracking.Offset{}, 0)
	if err != nil {
		f.err = fmt.Errorf("stream head of team %s: %w", t.name, err)
		return
	}
	snapshot, err := h.b.Last(h.ctx, t.name)
	if err != nil {
		f.err = fmt.Errorf("snapshot of team %s: %w", t.name, err)
		return
	}
	f.at, f.snapshot = at, snapshot
}

func (h *Hub) leave(t *team, q *Queue) {
	if t.remove(q) {
		h.m.queues.Dec()
	}
	h.mu.Lock()
	t.refs--
	last := t.refs == 0
	if last && h.teams[t.name] == t {
		delete(h.teams, t.name)
		h.ending[t.name] = t
		h.m.teams.Dec()
	}
	h.mu.Unlock()
	if last {
		<-t.ready
		if t.sub != nil {
			t.sub.Unsubscribe()
		}
		h.mu.Lock()
		if h.ending[t.name] == t {
			delete(h.ending, t.name)
		}
		h.mu.Unlock()
		close(t.ended)
	}
}

// Teams returns the number of teams this replica subscribes to.
func (h *Hub) Teams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.teams)
}

// Close ends every broker subscription. Queues stop receiving; their owners
// are expected to leave on their own (httpapi closes its streams first).
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	teams := slices.Collect(maps.Values(h.teams))
	h.mu.Unlock()
	h.cancel()
	for _, t := range teams {
		<-t.ready
		if t.sub != nil {
			t.sub.Unsubscribe()
		}
	}
}

func (t *team) deliver(msgs []tracking.Message) {
	msgs = t.dropStaleStatuses(msgs)
	if len(msgs) == 0 {
		return
	}
	queues := *t.queues.Load()
	for _, q := range queues {
		q.Push(msgs)
	}
	t.m.deliveries.Add(float64(len(msgs) * len(queues)))
}

// dropStaleStatuses leaves out the statuses that do not supersede the
// newest one seen for their worker: those of an older session (the replica
// a worker left may report its end after the one it moved to reported its
// start) or repeated; and those that supersede it but say the same (a
// worker posting through another replica starts a session there: online
// again is no change). Every replica sees the team's messages in the
// broker's order, so every manager sees the same changes, once.
func (t *team) dropStaleStatuses(msgs []tracking.Message) []tracking.Message {
	stale := -1
	for i := range msgs {
		if msgs[i].Kind == tracking.KindStatus && !t.acceptStatus(&msgs[i]) {
			stale = i
			break
		}
	}
	if stale < 0 {
		return msgs
	}
	// msgs is the broadcaster's: copy what is kept.
	t.kept = append(t.kept[:0], msgs[:stale]...)
	for i := stale + 1; i < len(msgs); i++ {
		if msgs[i].Kind != tracking.KindStatus || t.acceptStatus(&msgs[i]) {
			t.kept = append(t.kept, msgs[i])
		}
	}
	return t.kept
}

func (t *team) acceptStatus(m *tracking.Message) bool {
	if t.statuses == nil {
		t.statuses = make(map[string]tracking.Message)
	}
	prev, ok := t.statuses[m.Worker]
	if ok && !newer(m, &prev) {
		return false
	}
	id := wire.StatusIdentity(m.JSON)
	t.statuses[m.Worker] = tracking.Message{Kind: m.Kind, Time: m.Time, Received: m.Received, JSON: id}
	return !ok || !bytes.Equal(id, prev.JSON)
}

func (t *team) add(q *Queue) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	next := append(slices.Clip(*t.queues.Load()), q) // a copy: readers hold the old one
	t.queues.Store(&next)
}

func (t *team) remove(q *Queue) bool {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	old := *t.queues.Load()
	next := slices.DeleteFunc(slices.Clone(old), func(x *Queue) bool { return x == q })
	t.queues.Store(&next)
	return len(next) != len(old)
}
