package simulator

import (
	"context"
	"sync/atomic"
	"time"
)

// worker is one simulated field worker: its own movement, its own connection,
// its own goroutine. Nothing is batched across workers.
type worker struct {
	id        string
	team      string
	base      string // base URL of the tracking API, ending in '/'
	transport Transport
	interval  time.Duration
	startIn   time.Duration // upper bound of the random delay before the first connect
	walk      *walker
	rec       *record
	env       *runEnv
	cred      credential // worker goroutine only

	seq       uint64        // last sequence number used; worker goroutine only
	connected bool          // a connection was made before; worker goroutine only
	guard     sendGuard     // the write deadline
	lastSent  atomic.Uint64 // seq of the last record written successfully
	sent      atomic.Int64  // records written successfully
}

// run connects, streams a position every interval and reconnects until ctx is
// done; then it closes its connection cleanly.
func (w *worker) run(ctx context.Context) {
	w.env.c.workers.Add(1)
	// A random start spreads both the connects and the send phases of workers.
	if !sleep(ctx.Done(), jitter(w.startIn)) {
		return
	}
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	attempt := 0
	for {
		started := time.Now()
		cause := w.connection(ctx, tick)
		if ctx.Err() != nil {
			return
		}
		var delay time.Duration
		if isHint(cause) {
			attempt = 0
			delay = w.env.backoff.HintDelay()
			w.env.log.Debug("worker reconnecting on server request", "worker", w.id, "reason", cause, "in", delay)
		} else {
			w.env.c.errors.Add(1)
			w.env.c.fail(cause)
			w.env.reportRefusal(cause)
			if time.Since(started) >= w.env.backoff.ResetAfter {
				attempt = 0
			}
			delay = w.env.backoff.Delay(attempt)
			attempt++
			w.env.log.Debug("worker connection failed", "worker", w.id, "err", cause, "retry_in", delay)
		}
		if !sleep(ctx.Done(), delay) {
			return
		}
	}
}

// connection runs one connection until it ends or ctx is done, and returns why
// it ended (nil when ctx is done).
func (w *worker) connection(ctx context.Context, tick *time.Ticker) error {
	header, err := w.cred.header(w.env.creds)
	if err != nil {
		return err
	}
	c, err := dial(ctx, w.env, w.transport, w.base, header)
	if err != nil {
		return err
	}
	w.guard.attach(c)
	defer func() {
		c.close()
		w.guard.detach()
	}()
	if w.connected {
		w.env.c.reconnects.Add(1)
	}
	w.connected = true
	w.env.c.workersConnected.Add(1)
	defer w.env.c.workersConnected.Add(-1)
	newline := w.transport == TransportNDJSON
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.done():
			return c.err()
		case <-tick.C:
		}
		// The step is the nominal interval, not the measured one, so that the
		// positions a seed produces do not depend on scheduling.
		w.walk.step(w.interval.Seconds())
		w.seq++
		// Stamped just before sending: the timeStamp is what latency is measured from.
		now := w.env.now()
		rec := w.rec.build(w.walk, w.seq, now, newline)
		w.guard.begin(time.Now()) // the wall clock, whatever clock stamps the records
		err := c.send(rec)
		w.guard.end()
		if err != nil {
			if w.guard.detach() {
				return errWriteStalled
			}
			return sendError(c, err)
		}
		w.lastSent.Store(w.seq)
		w.sent.Add(1)
		w.env.c.sent.Add(1)
	}
}

// sendError prefers the connection's own account of why it ended (a reconnect
// hint reads the close frame a moment after the write fails).
func sendError(c conn, err error) error {
	t := time.NewTimer(100 * time.Millisecond)
	defer t.Stop()
	select {
	case <-c.done():
		return c.err()
	case <-t.C:
		return err
	}
}
