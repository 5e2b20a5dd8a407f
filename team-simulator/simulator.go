package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Simulator runs simulated workers until its context is done.
type Simulator struct {
	cfg     Config
	creds   *credentials
	c       counters
	workers []*worker
	ran     atomic.Bool
	// statusExtra adds to the status line (the round trip's figures).
	statusExtra func() []slog.Attr
}

// New validates cfg and prepares its workers; Run starts them.
func New(cfg Config) (*Simulator, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	creds, err := newCredentials(cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	s := &Simulator{cfg: cfg, creds: creds}
	run := newRunToken()
	var index uint64
	for _, t := range cfg.Teams {
		for n := 1; n <= t.Workers; n++ {
			s.workers = append(s.workers, newWorker(workerID(t.Name, n), t.Name, t.URL, t.Transport,
				t.Interval, max(cfg.Ramp, t.Interval), newWalker(cfg.Movement, cfg.Seed, index), run))
			index++
		}
	}
	return s, nil
}

// Workers returns the number of simulated workers.
func (s *Simulator) Workers() int { return len(s.workers) }

// Stats returns a snapshot of the run's counters.
func (s *Simulator) Stats() Stats { return s.c.snapshot() }

// Run streams positions until ctx is done, then closes every stream cleanly
// (within Config.ShutdownGrace) and returns once every goroutine has ended.
func (s *Simulator) Run(ctx context.Context) error {
	if s.ran.Swap(true) {
		return errors.New("simulator: Run called twice")
	}
	client := s.cfg.HTTPClient
	if client == nil {
		client = newHTTPClient()
		defer client.CloseIdleConnections()
	}
	env := &runEnv{client: client, c: &s.c, log: s.cfg.Logger, backoff: s.cfg.Backoff, now: s.cfg.Now,
		creds: s.creds, refusalLogged: new(atomic.Bool), ignoreAdvice: s.cfg.IgnoreAdvice, readAfter: s.cfg.ReadAfter}
	s.cfg.Logger.Info("simulator starting", "workers", len(s.workers), "teams", len(s.cfg.Teams),
		"seed", s.cfg.Seed, "centre", fmt.Sprintf("%g,%g", s.cfg.Movement.Centre.Latitude, s.cfg.Movement.Centre.Longitude),
		"radius_m", s.cfg.Movement.Radius, "auth", s.cfg.Auth.describe())

	g := startGroup(ctx, env, s.cfg.ShutdownGrace)
	for _, w := range s.workers {
		w.env = g.env
		g.goRun(w.run)
	}
	g.goRun(func(ctx context.Context) { watchStalls(ctx, s.workers, writeTimeout) })
	var status sync.WaitGroup
	status.Go(func() { runStatus(ctx, s.cfg.Status, s.cfg.Logger, &s.c, s.statusExtra) })
	<-ctx.Done()
	g.stop()
	status.Wait()
	st := s.c.snapshot()
	s.cfg.Logger.Info("simulator stopped", "sent", st.Sent, "errors", st.Errors, "reconnects", st.Reconnects)
	return nil
}

func newWorker(id, team, base string, t Transport, interval, startIn time.Duration, walk *walker, run string) *worker {
	return &worker{
		id: id, team: team, base: base, transport: t,
		interval: interval, startIn: startIn,
		walk: walk, rec: newRecord(id, team, run),
		cred:      workerCredential(id, team),
		adviceSet: make(chan struct{}, 1),
	}
}

// newRunToken returns a short random token that makes record ids unique
// across runs and lets managers tell this run's records from older ones.
func newRunToken() string { return strconv.FormatUint(rand.Uint64N(36*36*36*36*36*36), 36) }

// group is a set of goroutines that stop together: stop cancels their
// context, gives them grace to close their streams cleanly, then cuts what is
// left (the hard context) and waits for all of them.
type group struct {
	ctx        context.Context
	cancel     context.CancelFunc
	hardCancel context.CancelFunc
	env        *runEnv
	grace      time.Duration
	wg         sync.WaitGroup
}

func startGroup(parent context.Context, env *runEnv, grace time.Duration) *group {
	g := &group{grace: grace}
	g.ctx, g.cancel = context.WithCancel(parent)
	var hard context.Context
	hard, g.hardCancel = context.WithCancel(context.WithoutCancel(parent))
	e := *env
	e.hard = hard
	g.env = &e
	return g
}

func (g *group) goRun(fn func(context.Context)) { g.wg.Go(func() { fn(g.ctx) }) }

func (g *group) stop() {
	g.cancel()
	t := time.AfterFunc(g.grace, g.hardCancel)
	g.wg.Wait()
	t.Stop()
	g.hardCancel()
}
