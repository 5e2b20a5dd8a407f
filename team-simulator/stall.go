package simulator

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// writeTimeout is how long a worker's write may block (the server stopped
// reading) before its connection is cut and it reconnects.
const writeTimeout = 10 * time.Second

// errWriteStalled is why a connection cut by the stall watch ended.
var errWriteStalled = fmt.Errorf("write blocked for %s: server not reading", writeTimeout)

// sendGuard gives a worker's writes a deadline without a timer per write: the
// worker marks when a write starts and ends (two atomic stores), and one
// watch goroutine per run cuts the connections whose write has been blocked
// for too long.
type sendGuard struct {
	since atomic.Int64 // UnixNano when the current write began; 0 when none is in progress

	mu      sync.Mutex
	cur     conn // the connection being written to; nil between connections
	stalled bool // cur was cut by the watch
}

func (g *sendGuard) attach(c conn) {
	g.mu.Lock()
	g.cur, g.stalled = c, false
	g.mu.Unlock()
}

func (g *sendGuard) detach() (stalled bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur = nil
	return g.stalled
}

func (g *sendGuard) begin(now time.Time) { g.since.Store(now.UnixNano()) }

func (g *sendGuard) end() { g.since.Store(0) }

// check cuts the connection if its write began before limit.
func (g *sendGuard) check(limit int64) {
	if s := g.since.Load(); s == 0 || s > limit {
		return
	}
	g.mu.Lock()
	c := g.cur
	if c != nil && !g.stalled {
		g.stalled = true
		g.mu.Unlock()
		c.abort()
		return
	}
	g.mu.Unlock()
}

// watchStalls checks every worker's write once a second until ctx is done.
func watchStalls(ctx context.Context, workers []*worker, timeout time.Duration) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			limit := now.Add(-timeout).UnixNano()
			for _, w := range workers {
				w.guard.check(limit)
			}
		}
	}
}
