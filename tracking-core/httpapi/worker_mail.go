package httpapi

import (
	"sync"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/dispatch"
	"github.com/teamtrack/tracking-core/wire"
)

// maxMailIdentities bounds the workers one connection receives for: a
// phone is one worker; a gateway relaying a few is allowed some.
const maxMailIdentities = 16

type mailKey struct{ team, worker string }

// workerMail is what a worker connection receives besides answers to its
// records: the dispatch messages of each worker it carries (the token's,
// or those its records name) and the sampling advice of their teams. A
// POST body cannot receive: it gets no inbox, and only keeps the advice for
// its summary (write is nil).
type workerMail struct {
	a     *API
	write func([]byte) error // nil for a POST

	last mailKey // the read loop's: the identity seen last, to skip the map

	mu      sync.Mutex
	closed  bool
	inboxes map[mailKey]*dispatch.Inbox
	follows map[string]func()        // team -> leave its advice
	advice  map[string]time.Duration // team -> its current advice
	written time.Duration            // the advice last written
	writing bool                     // a goroutine is writing advice
	advised chan struct{}            // closed at the first advice
}

func (a *API) newWorkerMail(write func([]byte) error) *workerMail {
	if a.cfg.Dispatch == nil && a.cfg.Advisor == nil {
		return nil
	}
	return &workerMail{a: a, write: write, advised: make(chan struct{})}
}

// seen notes that the connection carries worker of team (from its token or
// an accepted record): its messages and its team's advice follow. Called
// by the connection's reading goroutine.
func (m *workerMail) seen(team, worker string) {
	if m == nil {
		return
	}
	k := mailKey{team, worker}
	if k == m.last {
		return
	}
	m.last = k
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if _, ok := m.inboxes[k]; ok || len(m.inboxes) >= maxMailIdentities {
		return
	}
	if m.inboxes == nil {
		m.inboxes = make(map[mailKey]*dispatch.Inbox, 1)
	}
	var in *dispatch.Inbox
	if d := m.a.cfg.Dispatch; d != nil && m.write != nil {
		in = d.Open(team, worker, m.write)
	}
	m.inboxes[k] = in // nil on a POST: only counts the identity
	if adv := m.a.cfg.Advisor; adv != nil {
		if _, ok := m.follows[team]; !ok {
			if m.follows == nil {
				m.follows = make(map[string]func(), 1)
			}
			m.follows[team] = adv.Follow(team, func(d time.Duration) { m.advise(team, d) })
		}
	}
}

// advise takes a team's new advice; the connection is told the shortest
// of its teams' (one that carries several workers reports for all).
// Called by the Advisor, which it must not block: a write goes out from a
// goroutine started only when there is something to write.
func (m *workerMail) advise(team string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if m.advice == nil {
		m.advice = make(map[string]time.Duration, 1)
		close(m.advised)
	}
	m.advice[team] = d
	if m.write != nil && !m.writing {
		m.writing = true
		go m.writeAdvice()
	}
}

// current is the advice the connection should follow; 0 when none yet.
// Called with mu held.
func (m *workerMail) current() time.Duration {
	var out time.Duration
	for _, d := range m.advice {
		if out == 0 || d < out {
			out = d
		}
	}
	return out
}

// Advice is the connection's current advice (0: none), for a POST's
// summary. A body that named a team moments ago may end before the replica
// knows its advice (it asks the other replicas): wait up to wait for it.
func (m *workerMail) Advice(wait time.Duration) time.Duration {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	following := len(m.follows) > 0
	m.mu.Unlock()
	if following {
		t := time.NewTimer(wait)
		select {
		case <-m.advised:
		case <-t.C:
		}
		t.Stop()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current()
}

// writeAdvice writes the current advice until what was written is current.
func (m *workerMail) writeAdvice() {
	for {
		m.mu.Lock()
		d := m.current()
		if m.closed || d == m.written || d == 0 {
			m.writing = false
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		if err := m.write(wire.AppendConfig(nil, d)); err != nil {
			m.mu.Lock()
			m.writing = false
			m.mu.Unlock()
			return
		}
		m.a.m.advice.Inc()
		m.mu.Lock()
		m.written = d
		m.mu.Unlock()
	}
}

// reply records a worker's ack or read receipt. The worker is the one the
// reply names, or the connection's only one.
func (m *workerMail) reply(r wire.WorkerReply) error {
	if m == nil || m.a.cfg.Dispatch == nil {
		return tracking.Errorf(tracking.CodeNotImplemented, "messages to workers are not configured on this service")
	}
	m.mu.Lock()
	var in *dispatch.Inbox
	switch {
	case r.WorkerID != "" || r.Team != "":
		for k, v := range m.inboxes {
			if (r.WorkerID == "" || k.worker == r.WorkerID) && (r.Team == "" || k.team == r.Team) {
				if in != nil {
					m.mu.Unlock()
					return &tracking.Error{Code: tracking.CodeInvalidField, Field: "team",
						Message: "this connection carries worker " + r.WorkerID + " of several teams: name the team"}
				}
				in = v
			}
		}
	case len(m.inboxes) == 1:
		for _, v := range m.inboxes {
			in = v
		}
	case len(m.inboxes) > 1:
		m.mu.Unlock()
		return &tracking.Error{Code: tracking.CodeInvalidField, Field: "workerId",
			Message: "this connection carries several workers: name the one that replies"}
	}
	m.mu.Unlock()
	if in == nil {
		return tracking.Errorf(tracking.CodeNotFound,
			"no messages are delivered to that worker on this connection: send a position first")
	}
	return in.Reply(r.Type, r.ID)
}

// close ends the inboxes and the advice. Called once the connection ended.
func (m *workerMail) close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.closed = true
	inboxes, follows := m.inboxes, m.follows
	m.inboxes, m.follows = nil, nil
	m.mu.Unlock()
	for _, in := range inboxes {
		if in != nil {
			in.Close()
		}
	}
	for _, leave := range follows {
		leave()
	}
}
