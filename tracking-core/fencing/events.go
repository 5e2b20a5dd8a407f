package fencing

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/teamtrack/tracking-core/alerting"
)

// eventWriterConfig tunes an eventWriter (the Engine fills it in).
type eventWriterConfig struct {
	append  func(ctx context.Context, events []alerting.Event) error // Store.AppendEvents
	notify  func()                                                   // wakes the webhook dispatcher; may be nil
	backlog int                                                      // most events waiting; beyond, the oldest are dropped
	batch   int
	linger  time.Duration
	timeout time.Duration // one AppendEvents
	grace   time.Duration // how long close keeps writing
	log     *slog.Logger
	m       *metrics
}

// eventWriter takes alert events off the ingest path into the alerting
// store, in the shape of history.Writer: add never blocks, events wait in a
// bounded backlog, one goroutine appends them in batches (idempotent by
// id, so a retried batch is harmless) retrying with backoff, then wakes the
// webhook dispatcher. Every event added is in the end written or dropped,
// and counted as such.
type eventWriter struct {
	cfg eventWriterConfig

	mu      sync.Mutex
	q       []alerting.Event
	closing bool

	wake      chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	dropLog   rateLimited
	errLog    rateLimited
}

func newEventWriter(cfg eventWriterConfig) *eventWriter {
	cfg.backlog = cmp.Or(max(cfg.backlog, 0), 100_000)
	cfg.batch = cmp.Or(max(cfg.batch, 0), 500)
	cfg.linger = cmp.Or(max(cfg.linger, 0), 20*time.Millisecond)
	cfg.timeout = cmp.Or(max(cfg.timeout, 0), 30*time.Second)
	cfg.grace = cmp.Or(max(cfg.grace, 0), 5*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	w := &eventWriter{cfg: cfg, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{}),
		dropLog: rateLimited{every: 10 * time.Second}, errLog: rateLimited{every: 10 * time.Second}}
	go w.run()
	return w
}

// add queues ev and returns at once.
func (w *eventWriter) add(ev alerting.Event) {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		w.dropped("closed", 1)
		return
	}
	dropped := 0
	if len(w.q) >= w.cfg.backlog {
		// Keep the newest: an outage long enough to fill the backlog has
		// already delayed the oldest past use.
		dropped = len(w.q) - w.cfg.backlog + 1
		w.q = append(w.q[:0], w.q[dropped:]...)
	}
	w.q = append(w.q, ev)
	n := len(w.q)
	w.mu.Unlock()
	w.cfg.m.eventsBacklog.Set(float64(n))
	if dropped > 0 {
		w.dropped("backlog_full", dropped)
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *eventWriter) dropped(reason string, n int) {
	w.cfg.m.eventsDropped.WithLabelValues(reason).Add(float64(n))
	if ok, suppressed := w.dropLog.allow(); ok {
		w.cfg.log.Warn("alerts: events dropped before reaching the store", "reason", reason, "events", n,
			"similar_messages_suppressed", suppressed, "hint", "the alerting database is slow or down; see tracking_alert_events_dropped_total")
	}
}

// close writes what waits for up to the grace, drops the rest and stops
// the goroutine. Idempotent.
func (w *eventWriter) close() {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
		t := time.AfterFunc(w.cfg.grace, w.cancel)
		<-w.done
		t.Stop()
		w.cancel()
	})
}

func (w *eventWriter) run() {
	defer close(w.done)
	var batch []alerting.Event
	for {
		w.mu.Lock()
		n, closing := len(w.q), w.closing
		w.mu.Unlock()
		if n == 0 {
			if closing {
				return
			}
			<-w.wake
			if !closing && w.cfg.linger > 0 {
				// Events come in bursts (an enter with its alerts on several
				// fences, many workers at a shift's start): one transaction.
				t := time.NewTimer(w.cfg.linger)
				select {
				case <-t.C:
				case <-w.ctx.Done():
					t.Stop()
				}
			}
			continue
		}
		w.mu.Lock()
		k := min(len(w.q), w.cfg.batch)
		batch = append(batch[:0], w.q[:k]...)
		w.q = append(w.q[:0], w.q[k:]...)
		backlog := len(w.q)
		w.mu.Unlock()
		w.cfg.m.eventsBacklog.Set(float64(backlog))
		if !w.write(batch) {
			w.mu.Lock()
			rest := len(batch) + len(w.q)
			w.q = nil
			w.mu.Unlock()
			w.cfg.m.eventsBacklog.Set(0)
			w.dropped("shutdown", rest)
			return
		}
		clear(batch)
		if w.cfg.notify != nil {
			w.cfg.notify()
		}
	}
}

// write appends batch until it succeeds (true) or the grace of close runs
// out (false).
func (w *eventWriter) write(batch []alerting.Event) bool {
	backoff := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(w.ctx, w.cfg.timeout)
		err := w.cfg.append(ctx, batch)
		cancel()
		if err == nil {
			w.cfg.m.eventsWritten.Add(float64(len(batch)))
			return true
		}
		w.cfg.m.eventsWriteErrors.Inc()
		if w.ctx.Err() != nil {
			return false
		}
		if ok, suppressed := w.errLog.allow(); ok {
			w.cfg.log.Warn("alerts: appending events failed, retrying", "err", err, "events", len(batch),
				"backoff", backoff.String(), "similar_messages_suppressed", suppressed)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// rateLimited lets one log line through per interval and counts the others.
type rateLimited struct {
	mu         sync.Mutex
	every      time.Duration
	last       time.Time
	suppressed int
}

func (r *rateLimited) allow() (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		return false, 0
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	return true, n
}
