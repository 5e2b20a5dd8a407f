package simulator

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// ManagerTransport is how a simulated manager watches its team.
type ManagerTransport string

const (
	// ManagerSSE: GET {base}{team}, Server-Sent Events.
	ManagerSSE ManagerTransport = "sse"
	// ManagerWebSocket: GET {base}{team}/ws, batches of positions.
	ManagerWebSocket ManagerTransport = "ws"
)

func (t ManagerTransport) validate() error {
	switch t {
	case ManagerSSE, ManagerWebSocket:
		return nil
	}
	return fmt.Errorf("unknown manager transport %q (want sse or ws)", t)
}

// loadTeam is one team of a load run.
type loadTeam struct {
	name    string
	workers []*worker
	index   map[string]int // workerId -> index in workers; read-only once built
	watched bool           // has managers (LoadConfig.WatchedTeams)
}

// manager is one simulated manager: it watches its team's stream, keeps per
// worker the newest position it has seen, and records the latency of each new
// position from the record's own timeStamp.
type manager struct {
	n    int // for logs
	team *loadTeam
	base string // the API's base URL, ending in '/'

	transport ManagerTransport
	lr        *loadRun
	env       *runEnv
	cred      credential // manager goroutine only

	// seen[i]: highest seq of team.workers[i] seen; read by the drain check
	// while the manager runs.
	seen []atomic.Uint64
	// got[i]: positions of team.workers[i] seen; manager goroutine only.
	got []int64
	// ledger[i] accounts for team.workers[i]'s positions owed to and
	// delivered to this manager; manager goroutine only until it stops.
	ledger []pairLedger

	// client is the HTTP client of this manager's streams (one bound to a
	// source address, LoadConfig.ManagerSources); nil: env.client.
	client *http.Client
	// resume: reopen the stream after the last stream id seen (as a
	// browser's EventSource does), lastID; manager goroutine only.
	resume bool
	lastID string

	connectedBefore bool  // manager goroutine only
	reconnects      int64 // streams reopened; manager goroutine only
}

// connected counts a stream that is up; the streams call it once per
// connection and undo it with the returned function.
func (m *manager) connected() (disconnected func()) {
	if m.connectedBefore {
		m.env.c.managerReconnects.Add(1)
		m.reconnects++
		for i := range m.ledger {
			m.ledger[i].reconnect()
		}
	} else {
		// The watch starts: what each worker sends from now on is owed.
		for i, w := range m.team.workers {
			m.ledger[i].start(w.attempted.Load())
		}
	}
	m.connectedBefore = true
	m.env.c.managersConnected.Add(1)
	return func() { m.env.c.managersConnected.Add(-1) }
}

func newManager(n int, t *loadTeam, base string, tr ManagerTransport, lr *loadRun) *manager {
	return &manager{
		n: n, team: t, base: base, transport: tr, lr: lr, cred: managerCredential(n, t.name),
		seen:   make([]atomic.Uint64, len(t.workers)),
		got:    make([]int64, len(t.workers)),
		ledger: make([]pairLedger, len(t.workers)),
	}
}

// run watches the team, reconnecting like a worker does, until ctx is done.
func (m *manager) run(ctx context.Context) {
	c := m.env.c
	c.managers.Add(1)
	attempt := 0
	for {
		started := time.Now()
		var cause error
		if m.transport == ManagerWebSocket {
			cause = m.streamWS(ctx)
		} else {
			cause = m.streamSSE(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		var delay time.Duration
		if isHint(cause) {
			attempt = 0
			delay = m.env.backoff.HintDelay()
			m.env.log.Debug("manager reconnecting on server request", "manager", m.n, "team", m.team.name, "reason", cause)
		} else {
			c.managerErrors.Add(1)
			c.fail(cause)
			m.env.reportRefusal(cause)
			if time.Since(started) >= m.env.backoff.ResetAfter {
				attempt = 0
			}
			delay = m.env.backoff.Delay(attempt)
			attempt++
			m.env.log.Debug("manager stream failed", "manager", m.n, "team", m.team.name, "err", cause, "retry_in", delay)
		}
		if !sleep(ctx.Done(), delay) {
			return
		}
	}
}

// handle takes one record received at now.
func (m *manager) handle(rec []byte, now time.Time) {
	c := m.env.c
	r, ok := scanRecord(rec)
	if !ok || !bytes.Equal(r.run, m.lr.run) {
		c.foreign.Add(1)
		return
	}
	i, ok := m.team.index[string(r.worker)]
	if !ok {
		c.foreign.Add(1)
		return
	}
	if !m.ledger[i].deliver(r.seq, now.UnixNano()) {
		c.duplicates.Add(1) // a snapshot after a reconnect repeats what was seen
		return
	}
	if r.seq > m.seen[i].Load() {
		m.seen[i].Store(r.seq)
	}
	m.got[i]++
	c.received.Add(1)
	if m.lr.inWindow(r.stamp) {
		m.lr.latency.Record(now.Sub(r.stamp))
	}
}

// caughtUp reports whether m has seen the last position each worker of its
// team sent.
func (m *manager) caughtUp() bool {
	for i, w := range m.team.workers {
		if m.seen[i].Load() < w.lastSent.Load() {
			return false
		}
	}
	return true
}
