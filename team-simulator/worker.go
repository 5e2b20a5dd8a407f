package simulator

import (
	"context"
	"fmt"
	"slices"
	"sync"
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
	interval  time.Duration // configured: the reporting interval until advice comes, and the movement step
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

	// The send log a load run accounts with: attempted is the last sequence
	// number used (stored before the record is stamped, so that a manager
	// whose stream opens after that owes nothing up to it), failed those
	// whose write failed (worker goroutine only until the workers stop).
	attempted atomic.Uint64
	failed    []uint64
	// rejected are the sequence numbers the service answered with an error
	// (from the connection's reader: under rejectedMu); a POST's summary
	// names only its first few, the rest stay unattributed.
	rejectedMu sync.Mutex
	rejected   []uint64
	// rejectedNoID counts refusals whose answer named no record (a rate
	// limit refuses before reading the record).
	rejectedNoID atomic.Int64

	// Count mode (LoadConfig.Positions): the worker sends nothing until gate
	// is closed, then limit positions (0: no limit), and stays connected.
	gate  <-chan struct{}
	limit uint64

	// Sampling advice. advised is the interval the server last advised (0:
	// none yet), set from any goroutine (the WebSocket's reader, the worker's
	// own after a POST's summary), which then signals adviceSet. It outlives
	// a connection: a worker keeps its advice until told otherwise.
	advised   atomic.Int64
	adviceSet chan struct{}
	// current is the reporting interval in effect; lastMove is when the
	// walker last moved and owed the movement not yet walked because advice
	// cut an interval short. Worker goroutine only.
	current  time.Duration
	lastMove time.Time
	owed     time.Duration
	// rephase is set while the ticker runs a shortened first period after
	// new advice (see applyAdvice). Worker goroutine only.
	rephase bool
}

// Bounds of a usable advised interval.
const (
	minAdvice = 10 * time.Millisecond
	maxAdvice = time.Hour
)

// advise takes the server's sampling advice: report every interval (Go
// duration syntax). An interval that cannot be used is counted as an error
// and otherwise ignored. Safe from any goroutine.
func (w *worker) advise(interval string) {
	c := w.env.c
	c.advice.Add(1)
	d, err := time.ParseDuration(interval)
	if err != nil || d < minAdvice || d > maxAdvice {
		c.badAdvice.Add(1)
		c.errors.Add(1)
		c.fail(fmt.Errorf("worker %s: unusable sampling advice %q (want a duration in [%s, %s])", w.id, interval, minAdvice, maxAdvice))
		return
	}
	if w.advised.Swap(int64(d)) != int64(d) {
		select {
		case w.adviceSet <- struct{}{}:
		default: // a signal is pending already
		}
	}
}

// reportEvery is the interval the worker should report at: the advised one,
// unless there is none or the run ignores advice.
func (w *worker) reportEvery() time.Duration {
	if a := w.advised.Load(); a > 0 && !w.env.ignoreAdvice {
		return time.Duration(a)
	}
	return w.interval
}

// applyAdvice switches the ticker to the interval the worker should report
// at, when it changed. The part of the old interval that has passed is owed
// to the walker, which walks it at the next tick: movement goes on at its
// own pace whatever the reporting interval.
func (w *worker) applyAdvice(tick *time.Ticker) {
	want := w.reportEvery()
	if want == w.current {
		return
	}
	now := time.Now()
	w.owed += min(max(now.Sub(w.lastMove), 0), w.current)
	w.lastMove = now
	w.env.c.moveInterval(w.current, want)
	w.env.log.Debug("worker reporting interval", "worker", w.id, "from", w.current, "to", want)
	// The next report comes one new interval after the last one, not after
	// the advice: a fleet advised at one instant keeps its workers' phases
	// spread instead of all reporting together from then on, as phones
	// that apply a new interval at their next fix do.
	next := want - w.owed // owed: the time since the last report, just added up
	if next > want {
		next = want
	}
	w.current = want
	w.rephase = next != want
	tick.Reset(max(next, time.Millisecond))
}

// move advances the walker by d (nominal time) in steps of at most the
// configured interval, so that a long reporting interval reports where a
// worker moving at the base cadence would be, not one long straight jump.
func (w *worker) move(d time.Duration) {
	for d > 0 {
		s := min(d, w.interval)
		w.walk.step(s.Seconds())
		d -= s
	}
}

// run connects, streams a position every interval and reconnects until ctx is
// done; then it closes its connection cleanly.
func (w *worker) run(ctx context.Context) {
	w.env.c.workers.Add(1)
	// A random start spreads both the connects and the send phases of workers.
	if !sleep(ctx.Done(), jitter(w.startIn)) {
		return
	}
	w.current, w.lastMove = w.interval, time.Now()
	w.env.c.moveInterval(0, w.current)
	tick := time.NewTicker(w.current)
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
	c, err := dial(ctx, w.env, w.transport, w.base, header, w)
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
	w.applyAdvice(tick) // a POST's summary advised the next one
	for {
		// Ticks count only while the worker may send.
		var tickC <-chan time.Time
		gate := w.gate
		if !w.gated() {
			gate = nil
			if w.limit == 0 || w.seq < w.limit {
				tickC = tick.C
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.done():
			return c.err()
		case <-w.adviceSet:
			w.applyAdvice(tick)
			continue
		case <-gate:
			// Sends start within one interval of the gate, each worker at
			// its own phase.
			w.rephase = true
			tick.Reset(max(jitter(w.current), time.Millisecond))
			continue
		case <-tickC:
			if w.rephase {
				w.rephase = false
				tick.Reset(w.current)
			}
		}
		// The step is the nominal interval, not the measured one, so that the
		// positions a seed produces do not depend on scheduling (as long as
		// the reporting interval does not change).
		w.move(w.current + w.owed)
		w.owed, w.lastMove = 0, time.Now()
		w.seq++
		w.attempted.Store(w.seq)
		if f := w.env.firstSend; f != nil && f.Load() == 0 {
			f.CompareAndSwap(0, time.Now().UnixNano())
		}
		// Stamped just before sending: the timeStamp is what latency is measured from.
		now := w.env.now()
		rec := w.rec.build(w.walk, w.seq, now, newline)
		w.guard.begin(time.Now()) // the wall clock, whatever clock stamps the records
		err := c.send(rec)
		w.guard.end()
		if err != nil {
			w.failed = append(w.failed, w.seq)
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

// noteRejected records that the service refused the record with this id
// (one of this worker's of this run; others are ignored). Safe from any
// goroutine.
func (w *worker) noteRejected(id string) {
	if id == "" {
		w.rejectedNoID.Add(1)
		return
	}
	run, seq, ok := parseID([]byte(id), []byte(w.id))
	if !ok || string(run) != w.rec.run() {
		return
	}
	w.rejectedMu.Lock()
	w.rejected = append(w.rejected, seq)
	w.rejectedMu.Unlock()
}

// rejectedSeqs returns the rejected sequence numbers, ascending.
func (w *worker) rejectedSeqs() []uint64 {
	w.rejectedMu.Lock()
	defer w.rejectedMu.Unlock()
	out := slices.Clone(w.rejected)
	slices.Sort(out)
	return slices.Compact(out)
}

// gated reports whether the worker must still wait for its gate.
func (w *worker) gated() bool {
	if w.gate == nil {
		return false
	}
	select {
	case <-w.gate:
		return false
	default:
		return true
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
