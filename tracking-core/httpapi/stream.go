package httpapi

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/wire"
)

// sink is one manager connection's framing: SSE or WebSocket.
type sink interface {
	positions(batch []tracking.Message) error
	heartbeat() error
	reconnect(reason string) error
	reset(reason string) error
}

// watch joins the fan-out of team (which authed has checked) with q,
// primed with the positions after since (a stream id the client had) or,
// without one or when it cannot be resumed from, with the snapshot.
func (a *API) watch(ctx context.Context, team, since string, q *hub.Queue) (func(), hub.Started, error) {
	var start hub.Start
	malformed := false
	if since != "" {
		off, err := tracking.ParseOffset(since)
		if err != nil {
			// Answering 400 would stop a browser's EventSource for good:
			// a resume that cannot be done starts from the snapshot.
			malformed = true
			a.log.Debug("unparsable stream id, starting from the snapshot", "team", team, "id", since)
		}
		start.After = off
	}
	leave, started, err := a.hub.Watch(ctx, team, q, start)
	if err != nil {
		return nil, started, &tracking.Error{Code: tracking.CodeUnavailable, Message: "cannot watch team " + team + " now", Err: err}
	}
	started.Reset = started.Reset || malformed
	if a.cfg.Advisor != nil {
		// A live manager: the team's workers report more often.
		hubLeave, adviceLeave := leave, a.cfg.Advisor.Watch(team)
		leave = func() { hubLeave(); adviceLeave() }
	}
	return leave, started, nil
}

// since is the stream id a manager resumes after: the Last-Event-ID header
// (EventSource sends it when it reconnects) or the since parameter.
func since(r *http.Request) string {
	if id := r.URL.Query().Get("since"); id != "" {
		return id
	}
	return r.Header.Get("Last-Event-ID")
}

// managerStream is a manager connection's stream once it began: it drains
// its queue into its sink in batches, at most once per FlushInterval,
// sends heartbeats, and ends when the connection does, its lifetime
// (lifespan of its claims) runs out, the replica drains or the manager is
// too slow to keep.
//
// It holds no goroutine while idle. Its writer runs when there is
// something to do: the queue calls it when positions arrive, the API's
// wheel when a heartbeat or the lifetime is due, the drain and the
// connection's reader when the stream must end; it exits when nothing is
// left. The buffers it writes with are the pool's only while it writes.
type managerStream struct {
	a     *API
	kind  string
	s     sink
	q     *hub.Queue
	entry wheelEntry // heartbeats and the lifetime

	// Set before the writer first runs, read by it only.
	why      string // why the lifetime ends: lifetime or token expiry
	endAt    int64  // when, in Unix ns
	nextBeat int64  // the next heartbeat, in Unix ns (the wheel's goroutine only)
	began    int64  // positions received before are the snapshot or a resume
	leave    func() // the hub's and the advisor's
	closed   func() // the connections gauge
	undrain  func()
	close    func(gone bool) // ends the connection (the client went: nothing more to write)
	refs     atomic.Int32    // the writer's end and, detached, the reader: the last one calls finished
	finished func()

	mu      sync.Mutex
	pending uint8 // pendReady, pendBeat
	ending  bool
	endWhy  string // the hint to give, "" when the client went or a write failed
	running bool   // the writer goroutine runs (or the handler still sets up)
	over    bool   // the writer has ended the stream
	wake    chan struct{}
}

const (
	pendReady uint8 = 1 << iota
	pendBeat
)

// newManagerStream makes the stream of a manager with claims; until begin,
// its writer is held (the handler writes the preamble).
func (a *API) newManagerStream(kind string, claims *auth.Claims) *managerStream {
	m := &managerStream{a: a, kind: kind, running: true}
	m.entry.owner = m
	m.q = hub.NewQueueFunc(a.cfg.QueueSoftLimit, a.cfg.QueueHardLimit, m.ready)
	life, why := a.lifespan(claims)
	m.why = why
	m.endAt = time.Now().Add(life).UnixNano()
	return m
}

func (m *managerStream) ready() { m.kick(pendReady) }

// begin starts the stream on s: the gauge, drain and the wheel take it up,
// and its writer runs from here on when needed. parts is how many of
// the stream's goroutines must end before finished is called (the writer,
// and the reader of a connection that left its handler).
func (m *managerStream) begin(s sink, leave func(), parts int32, finished func()) {
	a := m.a
	m.s, m.leave, m.finished = s, leave, finished
	m.refs.Store(parts)
	m.closed = a.open(m.kind)
	now := time.Now()
	m.began = now.UnixNano()
	m.nextBeat = now.Add(a.cfg.Heartbeat).UnixNano()
	m.mu.Lock()
	a.wheel.after(&m.entry, min(a.cfg.Heartbeat, time.Duration(m.endAt-m.began)))
	m.mu.Unlock()
	m.undrain = a.onDrain(func() { m.end(wire.ReasonShutdown) })
	m.mu.Lock()
	m.running = false
	m.startLocked()
	m.mu.Unlock()
}

// kick tells the writer of work.
func (m *managerStream) kick(what uint8) {
	m.mu.Lock()
	if !m.over {
		m.pending |= what
		m.startLocked()
	}
	m.mu.Unlock()
}

// end ends the stream, with a reconnect hint unless why is "" (the
// client went, or writing to it failed). The first reason given wins.
func (m *managerStream) end(why string) {
	m.mu.Lock()
	if !m.over && !m.ending {
		m.ending, m.endWhy = true, why
		if m.wake != nil {
			select {
			case m.wake <- struct{}{}:
			default:
			}
		}
		m.startLocked()
	}
	m.mu.Unlock()
}

// startLocked starts the writer if there is work and it is not running.
func (m *managerStream) startLocked() {
	if m.running || (m.pending == 0 && !m.ending) {
		return
	}
	m.running = true
	go m.run()
}

// due is the wheel's call: a heartbeat or the lifetime is due.
func (m *managerStream) due() {
	now := time.Now().UnixNano()
	if now >= m.endAt {
		m.end(m.why)
		return
	}
	if now >= m.nextBeat {
		m.nextBeat = now + int64(m.a.cfg.Heartbeat)
		m.kick(pendBeat)
	}
	m.mu.Lock()
	if !m.over && !m.ending {
		m.a.wheel.after(&m.entry, time.Duration(min(m.nextBeat, m.endAt)-now))
	}
	m.mu.Unlock()
}

// run is the stream's writer: it does what is pending, then exits.
func (m *managerStream) run() {
	defer m.a.recoverConn(m.kind)
	for {
		m.mu.Lock()
		if m.ending {
			m.over = true
			why := m.endWhy
			m.mu.Unlock()
			m.stop(why)
			return
		}
		p := m.pending
		m.pending = 0
		if p == 0 {
			m.running = false
			m.mu.Unlock()
			m.q.Trim() // idle: the queue's room goes back
			return
		}
		m.mu.Unlock()
		if p&pendReady != 0 {
			if why, ok := m.flush(); !ok {
				m.end(why)
				continue
			}
		}
		if p&pendBeat != 0 {
			if err := m.s.heartbeat(); err != nil {
				m.end("")
			}
		}
	}
}

// batches hold the positions of one write.
var batches = sync.Pool{New: func() any { b := make([]tracking.Message, 0, 64); return &b }}

// flush writes what the queue holds, then pauses FlushInterval so that the
// next write carries a batch. Not ok: the stream must end, with why.
func (m *managerStream) flush() (why string, ok bool) {
	a := m.a
	bp := batches.Get().(*[]tracking.Message)
	batch, conflated, overflow := m.q.Drain((*bp)[:0])
	defer func() {
		clear(batch) // drop references to the JSON
		if cap(batch) <= 4096 {
			*bp = batch[:0]
			batches.Put(bp)
		}
	}()
	if conflated > 0 {
		a.m.conflated.Add(float64(conflated))
	}
	if overflow {
		a.m.dropped.Add(float64(m.q.Lost()))
		return wire.ReasonSlow, false
	}
	if len(batch) == 0 {
		return "", true
	}
	// Counted as the batch is handed to the connection: a client that
	// reads it finds it counted.
	a.m.writes.Inc()
	a.m.written.Add(float64(len(batch)))
	a.observeLatency(batch, m.began)
	if err := m.s.positions(batch); err != nil {
		return "", false
	}
	if a.cfg.FlushInterval > 0 {
		m.pause(a.cfg.FlushInterval)
	}
	return "", true
}

// pause waits d, or less if the stream ends meanwhile.
func (m *managerStream) pause(d time.Duration) {
	wake := make(chan struct{}, 1)
	m.mu.Lock()
	if m.ending {
		m.mu.Unlock()
		return
	}
	m.wake = wake
	m.mu.Unlock()
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-wake:
	}
	t.Stop()
	m.mu.Lock()
	m.wake = nil
	m.mu.Unlock()
}

// stop ends the stream: the hint, the connection's end, and the stream
// leaves the hub, the gauge, the drain list and the wheel.
func (m *managerStream) stop(why string) {
	a := m.a
	a.wheel.remove(&m.entry)
	if why != "" {
		a.hint(m.s, why)
	}
	m.close(why == "")
	m.undrain()
	m.leave()
	m.closed()
	m.done()
}

// done counts down one part of the stream: the last calls finished.
func (m *managerStream) done() {
	if m.refs.Add(-1) == 0 {
		m.finished()
	}
}

func (a *API) hint(s sink, reason string) {
	a.m.reconnects.WithLabelValues(reason).Inc()
	_ = s.reconnect(reason)
}

// observeLatency records, for the live positions of a batch just written,
// the time since the platform received them.
func (a *API) observeLatency(batch []tracking.Message, began int64) {
	now := time.Now().UnixNano()
	for i := range batch {
		m := &batch[i]
		if m.Kind != tracking.KindPosition || m.Received < began {
			continue
		}
		a.m.latency.Observe(float64(max(now-m.Received, 0)) / 1e9)
	}
}
