package simulator

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// loadRun is the state of one RunLoad.
type loadRun struct {
	cfg      LoadConfig
	c        counters
	latency  Histogram
	run      []byte // run token in record ids
	teams    []*loadTeam
	workers  []*worker
	managers []*manager

	// The measurement window, Unix nanoseconds; end is 0 while open.
	windowStart, windowEnd atomic.Int64
	// firstSend is when the first position was attempted (count mode), Unix ns.
	firstSend atomic.Int64
	phase     atomic.Pointer[string]
}

func (lr *loadRun) setPhase(p string) {
	lr.phase.Store(&p)
	lr.cfg.Logger.Info("load phase", "phase", p)
}

// inWindow reports whether a record stamped at t was sent in the window.
func (lr *loadRun) inWindow(t time.Time) bool {
	start := lr.windowStart.Load()
	if start == 0 {
		return false
	}
	ns := t.UnixNano()
	end := lr.windowEnd.Load()
	// Stamps have millisecond precision: the window opens on a millisecond.
	return ns >= start/1e6*1e6 && (end == 0 || ns < end)
}

// RunLoad runs a load test: it connects the managers, then the workers, lets
// them warm up, measures over the window, stops the workers, lets the managers
// drain, and returns the report. When ctx ends early the report covers the
// window so far and says so.
func RunLoad(ctx context.Context, cfg LoadConfig) (*Report, error) {
	r, _, err := runLoad(ctx, cfg)
	return r, err
}

// runLoad is RunLoad, also returning the run's state for tests to inspect.
func runLoad(ctx context.Context, cfg LoadConfig) (*Report, *loadRun, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	// Fail before the run, not after it, on a PID that cannot be read.
	for _, pid := range cfg.PIDs {
		if _, err := ReadProcStat(pid); err != nil {
			return nil, nil, fmt.Errorf("load: -pids: %w", err)
		}
	}
	creds, err := newCredentials(cfg.Auth)
	if err != nil {
		return nil, nil, fmt.Errorf("load: %w", err)
	}
	lr := newLoadRun(cfg)
	client := cfg.HTTPClient
	if client == nil {
		client = newHTTPClient()
		defer client.CloseIdleConnections()
	}
	env := &runEnv{client: client, c: &lr.c, log: cfg.Logger, backoff: cfg.Backoff, now: cfg.Now,
		creds: creds, refusalLogged: new(atomic.Bool), ignoreAdvice: cfg.IgnoreAdvice, readAfter: cfg.ReadAfter}
	log := cfg.Logger
	log.Info("load starting", "workers", cfg.Workers, "teams", cfg.Teams, "managers_per_team", cfg.ManagersPerTeam,
		"rate", cfg.Rate, "duration", cfg.Duration, "worker_urls", cfg.WorkerURLs, "manager_urls", cfg.ManagerURLs, "seed", cfg.Seed,
		"auth", cfg.Auth.describe(), "geofences", cfg.Geofences)

	statusCtx, stopStatus := context.WithCancel(ctx)
	var status sync.WaitGroup
	status.Go(func() { runStatus(statusCtx, cfg.Status, log, &lr.c, lr.statusAttrs) })
	defer func() { stopStatus(); status.Wait() }()

	started := time.Now()
	var fences *loadFences
	if cfg.Geofences > 0 {
		lr.setPhase("creating geofences")
		if fences, err = lr.createFences(ctx, client, creds); err != nil {
			return nil, nil, err
		}
	}
	// The accounting starts before the managers connect: the replicas'
	// counters from here on say where positions went missing.
	metricsBefore := lr.scrape(ctx, client)
	managers := startGroup(ctx, env, cfg.ShutdownGrace)
	if len(lr.managers) > 0 {
		lr.setPhase("connecting managers")
		lr.startManagers(ctx, managers)
		total := int64(len(lr.managers))
		if !waitUntil(ctx, 30*time.Second, func() bool { return lr.c.managersConnected.Load() >= total }) && ctx.Err() == nil {
			log.Warn("not every manager connected; starting anyway", "connected", lr.c.managersConnected.Load(), "managers", total)
		}
	}

	lr.setPhase("ramp-up")
	workers := startGroup(ctx, env, cfg.ShutdownGrace)
	var gate chan struct{}
	if cfg.Positions > 0 {
		gate = make(chan struct{})
		workers.env.firstSend = &lr.firstSend
	}
	for _, w := range lr.workers {
		w.env = workers.env
		if gate != nil {
			w.gate, w.limit = gate, uint64(cfg.Positions)
		}
		workers.goRun(w.run)
	}
	workers.goRun(func(ctx context.Context) { watchStalls(ctx, lr.workers, writeTimeout) })
	if gate != nil {
		// Count mode: every worker connected (or the ramp and half a minute
		// gone) before the first send.
		total := int64(len(lr.workers))
		if !waitUntil(ctx, cfg.Ramp+30*time.Second, func() bool { return lr.c.workersConnected.Load() >= total }) && ctx.Err() == nil {
			log.Warn("not every worker connected; starting anyway", "connected", lr.c.workersConnected.Load(), "workers", total)
		}
		sleep(ctx.Done(), cfg.Warmup)
	} else {
		sleep(ctx.Done(), cfg.Ramp+cfg.Warmup)
	}

	lr.setPhase("measuring")
	procStart := sampleProcs(cfg.PIDs)
	before := lr.c.snapshot()
	sentBefore := lr.sentByWorker()
	windowStart := time.Now()
	lr.windowStart.Store(windowStart.UnixNano())
	var metricsStart []ReplicaScrape
	if len(lr.managers) > 0 {
		metricsStart = lr.scrape(ctx, client)
	}
	var lastSend time.Time // after which nothing more is sent
	if gate != nil {
		close(gate)
		waitUntil(ctx, cfg.Duration, lr.allSent)
		lastSend = time.Now()
		waitUntil(ctx, cfg.Drain, lr.caughtUp)
	} else {
		sleep(ctx.Done(), cfg.Duration)
	}
	windowEnd := time.Now()
	lr.windowEnd.Store(windowEnd.UnixNano())
	after := lr.c.snapshot()
	sentAfter := lr.sentByWorker()
	procEnd := sampleProcs(cfg.PIDs)
	var metricsEnd []ReplicaScrape
	if metricsStart != nil {
		metricsEnd = lr.scrape(context.WithoutCancel(ctx), client)
	}
	interrupted := ctx.Err() != nil

	lr.setPhase("stopping workers")
	workers.stop()
	if lastSend.IsZero() {
		lastSend = time.Now()
	}
	if len(lr.managers) > 0 && !interrupted {
		lr.setPhase("draining")
		waitUntil(ctx, cfg.Drain, lr.caughtUp)
	}
	grace := time.Since(lastSend)
	managers.stop()
	metricsAfter := lr.scrape(context.WithoutCancel(ctx), client)
	stopStatus()
	status.Wait()

	r := lr.report(reportInput{
		started: started, windowStart: windowStart, windowEnd: windowEnd,
		before: before, after: after, procStart: procStart, procEnd: procEnd,
		interrupted: interrupted, sentBefore: sentBefore, sentAfter: sentAfter,
	})
	r.ServerLatency = serverLatency(metricsStart, metricsEnd)
	if len(lr.managers) > 0 {
		r.Loss = lr.account(metricsBefore, metricsAfter, grace)
		if interrupted {
			r.Loss.Causes = append([]string{"the run was interrupted: the managers were given no grace after the last send"}, r.Loss.Causes...)
		}
	}
	if gate != nil {
		r.Fanout = lr.fanout(r)
	}
	if fences != nil {
		lr.setPhase("deleting geofences")
		r.Geofences = fences.finish(ctx, cfg.KeepGeofences)
	}
	attrs := []any{"sent_per_s", math.Round(r.SentPerSecond), "received_per_s", math.Round(r.ReceivedPerSecond),
		"p99_ms", r.Latency.P99Ms, "missed_latest", r.MissedLatest}
	if r.Loss != nil {
		attrs = append(attrs, "expected", r.Loss.Expected, "delivered", r.Loss.Delivered, "lost", r.Loss.Lost)
	}
	log.Info("load finished", attrs...)
	return r, lr, nil
}

func newLoadRun(cfg LoadConfig) *loadRun {
	lr := &loadRun{cfg: cfg, run: []byte(newRunToken())}
	width := len(fmt.Sprint(cfg.Teams - 1))
	for t := range cfg.Teams {
		name := fmt.Sprintf("%st%0*d", cfg.TeamPrefix, width, t)
		lr.teams = append(lr.teams, &loadTeam{name: name, index: make(map[string]int)})
	}
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	wwidth := len(fmt.Sprint(cfg.Workers - 1))
	for i := range cfg.Workers {
		t := lr.teams[i%cfg.Teams]
		id := fmt.Sprintf("%s-w%0*d", t.name, wwidth, i)
		w := newWorker(id, t.name, cfg.WorkerURLs[i%len(cfg.WorkerURLs)], cfg.WorkerTransport,
			interval, max(cfg.Ramp, interval), newWalker(cfg.Movement, cfg.Seed, uint64(i)), string(lr.run))
		t.index[id] = len(t.workers)
		t.workers = append(t.workers, w)
		lr.workers = append(lr.workers, w)
	}
	n := 0
	for i, t := range lr.teams {
		t.watched = cfg.WatchedTeams == 0 || i < cfg.WatchedTeams
		if !t.watched {
			continue
		}
		for range cfg.ManagersPerTeam {
			m := newManager(n, t, cfg.ManagerURLs[n%len(cfg.ManagerURLs)], cfg.ManagerTransport, lr)
			m.resume = !cfg.ManagerNoResume
			lr.managers = append(lr.managers, m)
			n++
		}
	}
	return lr
}

// sentByWorker is each worker's count of positions sent, in lr.workers'
// order.
func (lr *loadRun) sentByWorker() []int64 {
	out := make([]int64, len(lr.workers))
	for i, w := range lr.workers {
		out[i] = w.sent.Load()
	}
	return out
}

// caughtUp reports whether every manager has seen every worker's last position.
func (lr *loadRun) caughtUp() bool {
	for _, m := range lr.managers {
		if !m.caughtUp() {
			return false
		}
	}
	return true
}

func (lr *loadRun) statusAttrs() []slog.Attr {
	a := make([]slog.Attr, 0, 3)
	if p := lr.phase.Load(); p != nil {
		a = append(a, slog.String("phase", *p))
	}
	if start := lr.windowStart.Load(); start != 0 && lr.windowEnd.Load() == 0 {
		a = append(a, slog.String("window", fmt.Sprintf("%.0fs/%s", time.Since(time.Unix(0, start)).Seconds(), lr.cfg.Duration)))
	}
	if lr.latency.Count() > 0 {
		a = append(a, slog.String("p99", fmtMs(lr.latency.Quantile(0.99))))
	}
	if n := lr.c.snapshot().Alerts.Total; n > 0 || lr.cfg.Geofences > 0 {
		a = append(a, slog.Int64("alerts", n))
	}
	return a
}

// waitUntil polls cond until it holds, d has passed or ctx is done.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || !sleep(ctx.Done(), 20*time.Millisecond) {
			return cond()
		}
	}
}

// sampleProcs reads each pid and this process; a failed read is kept as an
// error in the report.
func sampleProcs(pids []int) map[int]procSample {
	out := make(map[int]procSample, len(pids)+1)
	for _, pid := range append(pids[:len(pids):len(pids)], os.Getpid()) {
		s, err := ReadProcStat(pid)
		out[pid] = procSample{ProcStat: s, err: err}
	}
	return out
}

type procSample struct {
	ProcStat
	err error
}
