package history

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WriterConfig tunes a Writer. Zero values take the defaults in the comments.
type WriterConfig struct {
	// Backlog is the most records waiting to be written (the batches being
	// written not included). When it is full, Add drops the OLDEST waiting
	// records to make room: after an outage the history keeps the newest
	// positions, those nearest to the live view. Default 100,000.
	Backlog int
	// Batch is the most records per Store.Write. Default 1,000.
	Batch int
	// Writes is the most batches being written at once (Store.Write calls
	// in flight; each holds a database connection). While the database is
	// slow, a second write keeps its other core busy and absorbs a stall
	// (a checkpoint, a batch that waits for a lock). Default 2.
	Writes int
	// Linger is how long a batch that is not full waits for more records.
	// Default 200ms.
	Linger time.Duration
	// WriteTimeout bounds one Store.Write. Default 30s.
	WriteTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries of a failed
	// batch, doubling from one to the other. Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// Grace is how long Close keeps writing what is waiting before it drops
	// the rest. Default 5s.
	Grace time.Duration
	// Logger receives the Writer's logs (failures and drops, rate-limited).
	// Default: discard.
	Logger *slog.Logger
	// Registerer receives the Writer's metrics (history_* names). Default: none.
	Registerer prometheus.Registerer
}

func (c *WriterConfig) setDefaults() {
	c.Backlog = cmp.Or(max(c.Backlog, 0), 100_000)
	c.Batch = cmp.Or(max(c.Batch, 0), 1000)
	c.Writes = cmp.Or(max(c.Writes, 0), 2)
	c.Linger = cmp.Or(max(c.Linger, 0), 200*time.Millisecond)
	c.WriteTimeout = cmp.Or(max(c.WriteTimeout, 0), 30*time.Second)
	c.MinBackoff = cmp.Or(max(c.MinBackoff, 0), 100*time.Millisecond)
	c.MaxBackoff = max(cmp.Or(max(c.MaxBackoff, 0), 5*time.Second), c.MinBackoff)
	c.Grace = cmp.Or(max(c.Grace, 0), 5*time.Second)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
}

// WriterDefaults returns the defaults NewWriter fills in, so that a reader of
// settings offers them without writing them again.
func WriterDefaults() WriterConfig {
	var c WriterConfig
	c.setDefaults()
	return c
}

// Writer takes records off the live path into a Store: Add never blocks,
// records wait in a bounded backlog and are written in batches, a few at a
// time, each retried with backoff while the database is down; writing
// resumes by itself.
// Every record added is, in the end, either written or dropped (a full
// backlog, or Close's grace running out), and counted as such.
type Writer struct {
	store Store
	cfg   WriterConfig
	log   *slog.Logger
	m     *writerMetrics

	mu      sync.Mutex
	q       ring
	closing bool
	stats   WriterStats

	wake      chan struct{} // cap 1: records arrived or Close began
	ctx       context.Context
	cancel    context.CancelFunc // ends writes once the grace is over
	done      chan struct{}
	closeOnce sync.Once

	dropLog rateLimited
	errLog  rateLimited
}

// WriterStats counts a Writer's records since it started.
type WriterStats struct {
	Added, Written, Dropped uint64
	Backlog                 int // waiting now (the batch being written not included)
}

// NewWriter starts a Writer into s. The Writer does not own s: close s after
// the Writer.
func NewWriter(s Store, cfg WriterConfig) *Writer {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer{
		store: s, cfg: cfg, log: cfg.Logger, m: newWriterMetrics(cfg.Registerer),
		q:    ring{max: cfg.Backlog},
		wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{}),
		dropLog: rateLimited{every: 10 * time.Second}, errLog: rateLimited{every: 10 * time.Second},
	}
	go w.run()
	return w
}

// Store is the Store the Writer writes to.
func (w *Writer) Store() Store { return w.store }

// Add queues recs for writing and returns at once. When the backlog is full
// the oldest waiting records are dropped (counted and logged); after Close
// recs are dropped.
func (w *Writer) Add(recs ...Record) {
	if len(recs) == 0 {
		return
	}
	w.mu.Lock()
	w.stats.Added += uint64(len(recs))
	if w.closing {
		w.stats.Dropped += uint64(len(recs))
		w.mu.Unlock()
		w.dropped("closed", len(recs))
		return
	}
	wasBelow := w.q.len() < w.cfg.Batch
	n := w.q.push(recs)
	w.stats.Dropped += uint64(n)
	backlog := w.q.len()
	w.mu.Unlock()
	w.m.backlog.Set(float64(backlog))
	if n > 0 {
		w.dropped("backlog_full", n)
	}
	// Wake the writer when the first record arrives (it starts lingering)
	// and when a full batch is ready (it stops lingering).
	if backlog == len(recs) || (wasBelow && backlog >= w.cfg.Batch) {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *Writer) dropped(reason string, n int) {
	w.m.dropped.WithLabelValues(reason).Add(float64(n))
	if ok, suppressed := w.dropLog.allow(); ok {
		w.log.Warn("history: records dropped", "reason", reason, "records", n, "similar_messages_suppressed", suppressed,
			"hint", "the history database is slow or down; see history_records_dropped_total")
	}
}

// Stats returns the Writer's counts.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Backlog = w.q.len()
	return s
}

// Close writes what is waiting for up to the grace, drops the rest (counted)
// and stops the writer goroutine. Records added after Close are dropped. It
// is idempotent and does not close the Store.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
		t := time.AfterFunc(w.cfg.Grace, w.cancel)
		<-w.done
		t.Stop()
		w.cancel()
	})
	return nil
}

func (w *Writer) run() {
	defer close(w.done)
	// Batch buffers: one per write in flight; a write gives its buffer back.
	free := make(chan []Record, w.cfg.Writes)
	for range w.cfg.Writes {
		free <- make([]Record, 0, w.cfg.Batch)
	}
	var writes sync.WaitGroup
	defer writes.Wait()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var batch []Record // a free buffer; nil while every one is being written
	for {
		if batch == nil {
			select {
			case batch = <-free:
			case <-w.ctx.Done(): // the grace is over while every write is retrying
				w.dropWaiting()
				return
			}
		}
		w.mu.Lock()
		n, closing := w.q.len(), w.closing
		w.mu.Unlock()
		switch {
		case n == 0 && closing:
			return
		case n == 0:
			<-w.wake
			continue
		case n < w.cfg.Batch && !closing:
			// Linger for a fuller batch.
			linger.Reset(w.cfg.Linger)
			select {
			case <-linger.C:
			case <-w.wake:
				linger.Stop()
				continue
			}
		}
		if w.ctx.Err() != nil {
			w.dropWaiting()
			return
		}
		w.mu.Lock()
		b := w.q.pop(batch[:0], w.cfg.Batch)
		backlog := w.q.len()
		w.mu.Unlock()
		w.m.backlog.Set(float64(backlog))
		batch = nil
		writes.Go(func() {
			if !w.write(b) {
				w.drop(len(b)) // the grace is over: what was in hand goes
			}
			clear(b) // let the records' strings go
			free <- b[:0]
		})
	}
}

// dropWaiting drops every waiting record (the grace is over).
func (w *Writer) dropWaiting() {
	w.mu.Lock()
	n := w.q.len()
	w.q.pop(nil, n)
	w.mu.Unlock()
	w.m.backlog.Set(0)
	w.drop(n)
}

// drop counts n records dropped at shutdown.
func (w *Writer) drop(n int) {
	if n == 0 {
		return
	}
	w.mu.Lock()
	w.stats.Dropped += uint64(n)
	w.mu.Unlock()
	w.dropped("shutdown", n)
}

// write writes batch until it succeeds (true) or the Writer's ctx ends (false).
func (w *Writer) write(batch []Record) bool {
	backoff := w.cfg.MinBackoff
	for {
		start := time.Now()
		ctx, cancel := context.WithTimeout(w.ctx, w.cfg.WriteTimeout)
		err := w.store.Write(ctx, batch)
		cancel()
		if err == nil {
			w.m.latency.Observe(time.Since(start).Seconds())
			w.m.written.Add(float64(len(batch)))
			w.m.up.Set(1)
			w.mu.Lock()
			w.stats.Written += uint64(len(batch))
			w.mu.Unlock()
			return true
		}
		w.m.errors.Inc()
		w.m.up.Set(0)
		if w.ctx.Err() != nil {
			return false
		}
		if ok, suppressed := w.errLog.allow(); ok {
			w.log.Warn("history: write failed, retrying", "err", err, "records", len(batch), "backoff", backoff.String(),
				"similar_messages_suppressed", suppressed)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			return false
		}
		backoff = min(2*backoff, w.cfg.MaxBackoff)
	}
}

// ring is a FIFO of records that grows up to max; pushing beyond max drops
// the oldest.
type ring struct {
	buf        []Record
	head, size int
	max        int
}

func (r *ring) len() int { return r.size }

// push appends recs and returns how many old records it dropped for room.
func (r *ring) push(recs []Record) (dropped int) {
	if len(recs) >= r.max {
		// Only the newest max of recs fit; everything waiting goes too.
		dropped = r.size + len(recs) - r.max
		r.pop(nil, r.size)
		recs = recs[len(recs)-r.max:]
	} else if over := r.size + len(recs) - r.max; over > 0 {
		r.pop(nil, over)
		dropped = over
	}
	if need := r.size + len(recs); need > len(r.buf) {
		r.grow(need)
	}
	for i := range recs {
		r.buf[(r.head+r.size)%len(r.buf)] = recs[i]
		r.size++
	}
	return dropped
}

func (r *ring) grow(need int) {
	n := min(max(2*len(r.buf), need, 1024), r.max)
	buf := make([]Record, n)
	for i := 0; i < r.size; i++ {
		buf[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	r.buf, r.head = buf, 0
}

// pop moves up to n of the oldest records to dst (nil: discards them).
func (r *ring) pop(dst []Record, n int) []Record {
	n = min(n, r.size)
	for i := 0; i < n; i++ {
		j := (r.head + i) % len(r.buf)
		if dst != nil {
			dst = append(dst, r.buf[j])
		}
		r.buf[j] = Record{}
	}
	if n > 0 {
		r.head = (r.head + n) % len(r.buf)
		r.size -= n
	}
	return dst
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
