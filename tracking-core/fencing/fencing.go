package fencing

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/geofence"
)

// Config tunes an Engine. Zero values take the defaults in the comments.
type Config struct {
	// Fences returns the index of a team's fences, nil when it has none
	// (defcache.Cache.Fences). Required.
	Fences func(team string) *geofence.Index
	// Publish sends alert messages on the team's stream (the Broadcaster's
	// Publish). Required.
	Publish func(ctx context.Context, msgs ...tracking.Message) error
	// States keeps workers' states at the broker. Nil: in this replica only
	// (a worker moving replicas is then reported entering again).
	States tracking.StateStore
	// Append stores events (alerting.Store.AppendEvents). Nil: alerts go on
	// the streams only.
	Append func(ctx context.Context, events []alerting.Event) error
	// Notify is called after events were appended (the webhook
	// dispatcher's Notify). Optional.
	Notify func()
	// Evaluator tunes the evaluation (exit buffer...).
	Evaluator geofence.Config
	// DefaultAccuracy is the accuracy, in metres, of a fix that has none.
	// Default 10.
	DefaultAccuracy float64
	// Sweep is how often the sweeper looks for dwells come due. Default 1s.
	Sweep time.Duration
	// LoadTimeout bounds the load of a worker's state on its first record
	// on a connection (ingest waits for it). Default 1s.
	LoadTimeout time.Duration
	// SaveTimeout bounds one save of a worker's state. Default 5s.
	SaveTimeout time.Duration
	// Forget is how long the state of a worker with no connection here and
	// no dwell pending is kept after its last record. Default 1h.
	Forget time.Duration
	// EventsBacklog is the most events waiting for the store; beyond, the
	// oldest are dropped (counted). Default 100,000.
	EventsBacklog int
	// Last reads a team's last positions and statuses (the Broadcaster's
	// Last); with it and Append, idle and offline statuses that settle
	// become alert events (StatusChanged).
	Last func(ctx context.Context, team string) ([]tracking.Message, error)
	// StatusSettle is how long a status must last to be an alert. Default 3s.
	StatusSettle time.Duration
	// Proximity evaluates the teams' proximity rules; nil: not evaluated.
	// See ProximityConfig.
	Proximity *ProximityConfig
	// Logger receives the engine's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives its metrics. Default: none.
	Registerer prometheus.Registerer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Engine evaluates the fences of every team for the workers connected to
// one replica.
type Engine struct {
	cfg    Config
	ev     *geofence.Evaluator
	log    *slog.Logger
	m      *metrics
	saver  *saver // nil without a StateStore
	events *eventWriter

	mu       sync.Mutex
	workers  map[key]*worker
	pending  map[*worker]struct{} // workers with a dwell to come
	settling []settling           // presence changes waiting to settle, by due
	closed   bool

	prox *proxRunner // nil without Config.Proximity

	stop chan struct{}
	done chan struct{}
}

type key struct{ team, worker string }

// worker is one worker's state on this replica.
type worker struct {
	key   key
	conns int // guarded by Engine.mu: connections holding it

	lastRecv atomic.Int64 // Unix ns when its last record arrived
	wake     atomic.Int64 // Unix ns when the sweeper should call Due; 0: nothing due

	mu       sync.Mutex // one evaluation at a time
	st       geofence.WorkerState
	savedSeq uint64 // st.Seq as last saved or loaded
}

// New starts an Engine and its sweeper.
func New(cfg Config) (*Engine, error) {
	cfg.DefaultAccuracy = cmp.Or(max(cfg.DefaultAccuracy, 0), 10)
	cfg.Sweep = cmp.Or(max(cfg.Sweep, 0), time.Second)
	cfg.LoadTimeout = cmp.Or(max(cfg.LoadTimeout, 0), time.Second)
	cfg.SaveTimeout = cmp.Or(max(cfg.SaveTimeout, 0), 5*time.Second)
	cfg.Forget = cmp.Or(max(cfg.Forget, 0), time.Hour)
	cfg.StatusSettle = cmp.Or(max(cfg.StatusSettle, 0), 3*time.Second)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ev, err := geofence.NewEvaluator(cfg.Evaluator)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, ev: ev, log: cfg.Logger, m: newMetrics(cfg.Registerer),
		workers: make(map[key]*worker), pending: make(map[*worker]struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
	if cfg.States != nil {
		e.saver = newSaver(cfg.States, cfg.SaveTimeout, e.log, e.m)
	} else {
		e.log.Warn("geofence: the broadcaster keeps no worker states; they live in this replica only, " +
			"so a worker moving to another replica may be reported entering a fence again")
	}
	if cfg.Append != nil {
		e.events = newEventWriter(eventWriterConfig{append: cfg.Append, notify: cfg.Notify, backlog: cfg.EventsBacklog,
			log: e.log, m: e.m})
	}
	if cfg.Proximity != nil {
		if e.prox, err = newProxRunner(e, *cfg.Proximity); err != nil {
			if e.events != nil {
				e.events.close()
			}
			return nil, err
		}
	}
	go e.sweeper()
	return e, nil
}

// Close stops the sweeper, then saves the states and stores the events
// that wait (each bounded). Conns should have ended. Idempotent.
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.mu.Unlock()
	close(e.stop)
	<-e.done
	if e.prox != nil {
		e.prox.close() // its last events reach the writer before it closes
	}
	if e.saver != nil {
		e.saver.close()
	}
	if e.events != nil {
		e.events.close()
	}
}

// Conn is one worker connection's view of the engine. Its methods are
// called by the connection's one reading goroutine.
type Conn struct {
	e       *Engine
	workers map[key]*worker
}

// Conn returns the view of a new connection; call End when it ends.
func (e *Engine) Conn() *Conn { return &Conn{e: e} }

// Seen evaluates an accepted record received at now.
func (c *Conn) Seen(p *tracking.Position, now time.Time) {
	ix := c.e.cfg.Fences(p.Team)
	if ix == nil {
		return
	}
	k := key{p.Team, p.WorkerID}
	w := c.workers[k]
	if w == nil {
		w = c.e.attach(k)
		if c.workers == nil {
			c.workers = make(map[key]*worker, 1)
		}
		c.workers[k] = w
	}
	t := p.TimeStamp
	if t.After(now) {
		t = now
	}
	acc := c.e.cfg.DefaultAccuracy
	if p.Accuracy != nil && *p.Accuracy > 0 {
		acc = *p.Accuracy
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastRecv.Store(now.UnixNano())
	events := c.e.ev.Evaluate(ix, &w.st, geofence.Fix{Team: p.Team, Worker: p.WorkerID,
		Lat: p.Location.Latitude, Lon: p.Location.Longitude, Accuracy: acc, Time: t})
	c.e.m.evaluations.Inc()
	c.e.after(w, events, now)
}

// End releases the connection's workers.
func (c *Conn) End() {
	if len(c.workers) == 0 {
		return
	}
	c.e.mu.Lock()
	for _, w := range c.workers {
		w.conns--
	}
	c.e.mu.Unlock()
	c.workers = nil
}

// attach returns k's worker for a connection that has not seen it yet,
// with the newest state: the broker's, when another replica has moved it
// on since this one last had it.
func (e *Engine) attach(k key) *worker {
	e.mu.Lock()
	w := e.workers[k]
	if w == nil {
		w = &worker{key: k}
		e.workers[k] = w
		e.m.workers.Inc()
	}
	w.conns++
	e.mu.Unlock()
	if e.cfg.States == nil {
		return w
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.LoadTimeout)
	data, err := e.cfg.States.LoadState(ctx, k.team, k.worker)
	cancel()
	switch {
	case err != nil:
		e.m.stateLoads.WithLabelValues("error").Inc()
		e.log.Warn("geofence: loading a worker's state failed; going on with this replica's", "team", k.team, "worker", k.worker, "err", err)
		return w
	case data == nil:
		e.m.stateLoads.WithLabelValues("none").Inc()
		return w
	}
	e.m.stateLoads.WithLabelValues("found").Inc()
	var st geofence.WorkerState
	if err := st.UnmarshalBinary(data); err != nil {
		e.log.Warn("geofence: a stored worker state does not decode; ignored", "team", k.team, "worker", k.worker, "err", err)
		return w
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Take the stored state when it is newer than this replica's: Seq
	// counts the changes, and a replica carrying on from a state raises it.
	// Ours may be ahead of the store by a save still on its way.
	if w.st.Last.IsZero() || st.Seq > w.st.Seq {
		w.st, w.savedSeq = st, st.Seq
		w.lastRecv.CompareAndSwap(0, e.cfg.Now().UnixNano())
		e.schedule(w, e.cfg.Now())
	}
	return w
}

func mustMarshal(st *geofence.WorkerState) []byte {
	b, _ := st.MarshalBinary()
	return b
}

// after publishes and stores events, saves w's state if it changed and
// schedules its next dwell. w.mu is held.
func (e *Engine) after(w *worker, events []geofence.Event, now time.Time) {
	e.emit(events, now)
	if w.st.Seq != w.savedSeq {
		w.savedSeq = w.st.Seq
		if e.saver != nil {
			e.saver.save(w.key, mustMarshal(&w.st))
		}
	}
	e.schedule(w, now)
}

// emit publishes events on their team's stream and hands them to the
// store's writer.
func (e *Engine) emit(events []geofence.Event, now time.Time) {
	for i := range events {
		ev := &events[i]
		js := ev.AppendJSON(nil)
		msg := tracking.Message{Kind: tracking.KindAlert, Team: ev.Team, Worker: ev.Worker,
			Time: ev.Time.UnixNano(), Received: now.UnixNano(), JSON: js}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := e.cfg.Publish(ctx, msg)
		cancel()
		if err != nil {
			e.m.publishErrors.Inc()
			e.log.Warn("geofence: publishing an alert failed", "team", ev.Team, "worker", ev.Worker, "kind", string(ev.Kind), "err", err)
		}
		e.m.alerts.WithLabelValues(string(ev.Kind)).Inc()
		if e.events != nil {
			e.events.add(alerting.Event{ID: ev.ID, Team: ev.Team, Worker: ev.Worker, Kind: string(ev.Kind), Time: ev.Time, JSON: js})
		}
	}
}

// schedule sets when the sweeper looks at w again: when its next dwell
// comes due on its own clock (its last fix time, run on by the wall time
// since that fix arrived). w.mu is held.
func (e *Engine) schedule(w *worker, now time.Time) {
	next := geofence.NextDue(&w.st)
	if next.IsZero() {
		if w.wake.Swap(0) != 0 {
			e.mu.Lock()
			delete(e.pending, w)
			e.mu.Unlock()
		}
		return
	}
	recv := w.lastRecv.Load()
	if recv == 0 {
		recv = now.UnixNano()
	}
	at := recv + int64(next.Sub(w.st.Last))
	if w.wake.Swap(at) == 0 {
		e.mu.Lock()
		e.pending[w] = struct{}{}
		e.mu.Unlock()
	}
}

// sweeper reports the dwells of workers who sent nothing since they came
// due, and forgets workers long gone.
func (e *Engine) sweeper() {
	defer close(e.done)
	tick := time.NewTicker(e.cfg.Sweep)
	defer tick.Stop()
	var due []*worker
	lastForget := e.cfg.Now()
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
		}
		now := e.cfg.Now()
		due = due[:0]
		e.mu.Lock()
		for w := range e.pending {
			if at := w.wake.Load(); at != 0 && at <= now.UnixNano() {
				due = append(due, w)
			}
		}
		e.mu.Unlock()
		for _, w := range due {
			e.sweep(w, now)
		}
		clear(due)
		e.settle(now)
		if now.Sub(lastForget) >= time.Minute {
			lastForget = now
			e.forget(now)
		}
	}
}

func (e *Engine) sweep(w *worker, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at := w.wake.Load(); at == 0 || at > now.UnixNano() {
		return // a fix came meanwhile
	}
	ix := e.cfg.Fences(w.key.team)
	if ix == nil {
		// The team has no fences left: nothing can come due.
		w.wake.Store(0)
		e.mu.Lock()
		delete(e.pending, w)
		e.mu.Unlock()
		return
	}
	clock := w.st.Last.Add(time.Duration(now.UnixNano() - w.lastRecv.Load()))
	events := e.ev.Due(ix, &w.st, clock)
	e.after(w, events, now)
	if w.wake.Load() != 0 && w.wake.Load() <= now.UnixNano() {
		// Due found nothing for it (the fence changed): look again later.
		w.wake.Store(now.Add(e.cfg.Sweep).UnixNano())
	}
}

// forget drops workers with no connection, no dwell pending and no record
// for Forget.
func (e *Engine) forget(now time.Time) {
	before := now.Add(-e.cfg.Forget).UnixNano()
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, w := range e.workers {
		if w.conns <= 0 && w.wake.Load() == 0 && w.lastRecv.Load() < before {
			delete(e.workers, k)
			e.m.workers.Dec()
		}
	}
}
