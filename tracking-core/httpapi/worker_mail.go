package httpapi

import (
	"slices"
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

	// Small slices rather than maps: a connection carries one worker, at
	// most maxMailIdentities, and an idle connection's bytes count (#17).
	mu      sync.Mutex
	closed  bool
	inboxes []mailInbox   // one per identity seen; inbox nil on a POST
	follows []teamFollow  // one per team of those identities
	advice  []teamAdvice  // the current advice of each team that has one
	written time.Duration // the advice last written
	writing bool          // a goroutine is writing advice
	advised chan struct{} // closed at the first advice
}

type mailInbox struct {
	key   mailKey
	inbox *dispatch.Inbox
}

type teamFollow struct {
	team  string
	leave func()
}

type teamAdvice struct {
	team string
	d    time.Duration
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
	if len(m.inboxes) >= maxMailIdentities || slices.ContainsFunc(m.inboxes, func(i mailInbox) bool { return i.key == k }) {
		return
	}
	var in *dispatch.Inbox
	if d := m.a.cfg.Dispatch; d != nil && m.write != nil {
		in = d.Open(team, worker, m.write)
	}
	m.inboxes = append(m.inboxes, mailInbox{k, in}) // nil on a POST: only counts the identity
	if adv := m.a.cfg.Advisor; adv != nil && !slices.ContainsFunc(m.follows, func(f teamFollow) bool { return f.team == team }) {
		m.follows = append(m.follows, teamFollow{team, adv.Follow(team, func(d time.Duration) { m.advise(team, d) })})
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
		close(m.advised)
	}
	if i := slices.IndexFunc(m.advice, func(t teamAdvice) bool { return t.team == team }); i >= 0 {
		m.advice[i].d = d
	} else {
		m.advice = append(m.advice, teamAdvice{team, d})
	}
	if m.write != nil && !m.writing {
		m.writing = true
		go m.writeAdvice()
	}
}

// current is the advice the connection should follow; 0 when none yet.
// Called with mu held.
func (m *workerMail) current() time.Duration {
	var out time.Duration
	for _, t := range m.advice {
		if out == 0 || t.d < out {
			out = t.d
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
		for _, i := range m.inboxes {
			k, v := i.key, i.inbox
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
		in = m.inboxes[0].inbox
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
	for _, i := range inboxes {
		if i.inbox != nil {
			i.inbox.Close()
		}
	}
	for _, f := range follows {
		f.leave()
	}
}
