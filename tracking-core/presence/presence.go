package presence

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// Config tunes a Tracker.
type Config struct {
	// IdleAfter is how long a connected worker may send no position before
	// it is idle. Default 60s.
	IdleAfter time.Duration
	// OfflineAfter is how long a worker may be silent before it is offline
	// (reason silent). Default 5m.
	OfflineAfter time.Duration
	// Sweep is how often sessions are checked for idleness and silence.
	// Default 1s.
	Sweep time.Duration
	// Publish sends status messages (the Broadcaster's Publish). Required.
	Publish func(ctx context.Context, msgs ...tracking.Message) error
	// Changed, when set, is called with each status change once it is
	// published (the fencing engine stores it as an alert event). It must
	// not block.
	Changed func(wire.StatusChange)
	// Logger receives the tracker's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives its metrics. Default: none.
	Registerer prometheus.Registerer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Tracker follows the sessions of the workers connected to one replica.
type Tracker struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	mu      sync.Mutex
	live    map[*session]struct{}  // every session, for the sweeper
	posting map[workerKey]*session // sessions of workers that post, by worker
	closed  bool

	stop chan struct{}
	done chan struct{}
}

type workerKey struct{ team, worker string }

// session is one worker's session on this replica.
type session struct {
	key      workerKey
	start    time.Time
	posting  bool
	lastSeen atomic.Int64 // Unix ns of the last record
	online   atomic.Bool  // whether the status published last is online
	mu       sync.Mutex   // orders the changes of this session
	status   string       // guarded by mu: last status published ("" before any)
	reason   string       // guarded by mu
	changed  time.Time    // guarded by mu: when it was published
	ended    bool         // guarded by mu
}

// New starts a Tracker and its sweeper.
func New(cfg Config) *Tracker {
	cfg.IdleAfter = cmp.Or(max(cfg.IdleAfter, 0), 60*time.Second)
	cfg.OfflineAfter = cmp.Or(max(cfg.OfflineAfter, 0), 5*time.Minute)
	cfg.Sweep = cmp.Or(max(cfg.Sweep, 0), time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Tracker{cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer),
		live: make(map[*session]struct{}), posting: make(map[workerKey]*session),
		stop: make(chan struct{}), done: make(chan struct{})}
	go t.sweeper()
	return t
}

// Close stops the sweeper. Sessions still open are left as they are: a
// replica closes its connections (which end their sessions) before.
// Idempotent.
func (t *Tracker) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	t.mu.Unlock()
	close(t.stop)
	<-t.done
}

// Conn is one worker connection's view of the tracker. Its methods are
// called by the connection's one reading goroutine.
type Conn struct {
	t       *Tracker
	posting bool
	start   time.Time
	one     *session               // the first worker's session: most connections carry one worker
	more    map[workerKey]*session // the others'
}

// WebSocket returns the Conn of a WebSocket: one session per worker seen on
// it, ended by End.
func (t *Tracker) WebSocket() *Conn { return &Conn{t: t, start: t.cfg.Now()} }

// Posting returns the Conn of a POST body: its workers' sessions are shared
// with their other POSTs to this replica and end by silence only.
func (t *Tracker) Posting() *Conn { return &Conn{t: t, posting: true} }

// Seen records an accepted record of worker at now: the worker is online.
func (c *Conn) Seen(team, worker string, now time.Time) {
	k := workerKey{team, worker}
	var s *session
	if c.one != nil && c.one.key == k {
		s = c.one
	} else {
		s = c.more[k]
	}
	if s == nil {
		s = c.t.open(k, c.posting, c.start)
		switch {
		case c.one == nil:
			c.one = s
		case c.more == nil:
			c.more = map[workerKey]*session{k: s}
		default:
			c.more[k] = s
		}
	}
	s.lastSeen.Store(now.UnixNano())
	if !s.online.Load() && !c.t.change(s, wire.StatusOnline, "") {
		// The session ended (a posting worker silent for too long): this
		// record starts another.
		if c.one == s {
			c.one = nil
		} else {
			delete(c.more, k)
		}
		c.Seen(team, worker, now)
	}
}

// End ends the connection: each of its WebSocket sessions goes offline
// with reason (wire.Status* reasons). Posting sessions go on.
func (c *Conn) End(reason string) {
	if c.posting {
		return
	}
	if c.one != nil {
		c.t.end(c.one, wire.StatusOffline, reason)
	}
	for _, s := range c.more {
		c.t.end(s, wire.StatusOffline, reason)
	}
	c.one, c.more = nil, nil
}

// open returns the session of k: a new one, or for posting the worker's
// current one on this replica.
func (t *Tracker) open(k workerKey, posting bool, start time.Time) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	if posting {
		if s := t.posting[k]; s != nil {
			return s
		}
	}
	if start.IsZero() || posting {
		start = t.cfg.Now()
	}
	s := &session{key: k, start: start, posting: posting}
	s.lastSeen.Store(start.UnixNano())
	t.live[s] = struct{}{}
	if posting {
		t.posting[k] = s
	}
	t.m.sessions.Inc()
	return s
}

// end publishes s's last status and forgets it.
func (t *Tracker) end(s *session, status, reason string) {
	t.change(s, status, reason)
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	t.mu.Lock()
	if _, ok := t.live[s]; ok {
		delete(t.live, s)
		t.m.sessions.Dec()
	}
	if t.posting[s.key] == s {
		delete(t.posting, s.key)
	}
	t.mu.Unlock()
}

// change publishes s's new status unless it is its current one, and
// returns false when s has ended. A change is stamped strictly after the
// session's previous one, so that the session's statuses are ordered
// whatever the clock does.
func (t *Tracker) change(s *session, status, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	if s.status == status && s.reason == reason {
		return true
	}
	at := t.cfg.Now()
	if !at.After(s.changed) {
		at = s.changed.Add(time.Nanosecond)
	}
	if at.Before(s.start) {
		at = s.start
	}
	c := wire.StatusChange{Team: s.key.team, Worker: s.key.worker, Session: s.start,
		Status: status, Reason: reason, Since: at}
	msg := wire.NewStatusMessage(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := t.cfg.Publish(ctx, msg)
	cancel()
	if err != nil {
		// The status is not taken as published: the next record or sweep
		// tries again.
		t.m.publishErrors.Inc()
		t.log.Warn("publish worker status", "team", s.key.team, "worker", s.key.worker, "status", status, "err", err)
		return true
	}
	s.status, s.reason, s.changed = status, reason, at
	s.online.Store(status == wire.StatusOnline)
	t.m.changes.WithLabelValues(status).Inc()
	if t.cfg.Changed != nil {
		t.cfg.Changed(c)
	}
	return true
}

// sweeper checks every session once per Sweep.
func (t *Tracker) sweeper() {
	defer close(t.done)
	tick := time.NewTicker(t.cfg.Sweep)
	defer tick.Stop()
	var due []*session
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
		now := t.cfg.Now()
		idle := now.Add(-t.cfg.IdleAfter).UnixNano()
		silent := now.Add(-t.cfg.OfflineAfter).UnixNano()
		due = due[:0]
		t.mu.Lock()
		for s := range t.live {
			if s.lastSeen.Load() < idle {
				due = append(due, s)
			}
		}
		t.mu.Unlock()
		for _, s := range due {
			switch {
			case s.lastSeen.Load() < silent:
				if s.posting {
					t.end(s, wire.StatusOffline, wire.StatusSilent)
				} else {
					t.change(s, wire.StatusOffline, wire.StatusSilent)
				}
			case s.lastSeen.Load() < idle:
				s.mu.Lock()
				isIdle := s.status == wire.StatusIdle || s.status == wire.StatusOffline
				s.mu.Unlock()
				if !isIdle {
					t.change(s, wire.StatusIdle, "")
				}
			}
		}
	}
}
