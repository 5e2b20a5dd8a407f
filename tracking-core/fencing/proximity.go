package fencing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/geofence"
	"github.com/teamtrack/tracking-core/geofence/proximity"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/wire"
)

// Claimer hands out the claims that say which replica evaluates a team's
// proximity rules: alerting.Store's Claim and Release.
type Claimer interface {
	Claim(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
	Release(ctx context.Context, name, holder string) error
}

// ProximityConfig turns on the evaluation of proximity rules.
//
// A rule judges workers that may be connected to different replicas, so a
// team's rules are evaluated in one place: the replica that holds the
// team's claim ("proximity/<team>") in the shared alerting store. Every
// ClaimFor/3 each replica claims, or renews, the teams that have rules;
// the holder watches the team's stream through its hub (primed with the
// team's last positions, then live) and feeds one proximity.Engine in
// stream order. When the holder stops, it releases its claims and another
// replica takes them at its next round; when it dies, within ClaimFor.
// The new holder starts the team's episodes afresh (an episode under way
// is judged again from the positions it sees, so an apart or alone event
// may be reported a second time).
type ProximityConfig struct {
	// Rules returns the rules of every team that has some
	// (defcache.Cache.AllRules). Required.
	Rules func() map[string][]proximity.Rule
	// Watch follows a team's stream (hub.Hub.Watch). Required.
	Watch func(ctx context.Context, team string, q *hub.Queue, start hub.Start) (func(), hub.Started, error)
	// Claims decides which replica evaluates a team. Required.
	Claims Claimer
	// Holder names this replica in Claims; unique among the replicas.
	// Required.
	Holder string
	// ClaimFor is how long a claim lasts unless renewed: how long a team's
	// rules go unevaluated when its replica dies. Default 15s.
	ClaimFor time.Duration
	// Engine tunes the evaluation (buffer, staleness, accuracy).
	Engine proximity.Config
}

// proxRunner runs the claims and the evaluation of the teams this replica
// holds.
type proxRunner struct {
	e   *Engine
	cfg ProximityConfig
	log *slog.Logger

	teams map[string]*proxTeam // the claim goroutine's own

	stop chan struct{}
	done chan struct{}
	once sync.Once
	warn rateLimited
}

// proxTeam is a team whose claim this replica holds.
type proxTeam struct {
	name      string
	heldUntil time.Time
	cancel    context.CancelFunc
	done      chan struct{}
}

func newProxRunner(e *Engine, cfg ProximityConfig) (*proxRunner, error) {
	if cfg.Rules == nil || cfg.Watch == nil || cfg.Claims == nil || cfg.Holder == "" {
		return nil, errors.New("fencing: proximity needs Rules, Watch, Claims and Holder")
	}
	if _, err := proximity.NewEngine("t", nil, cfg.Engine); err != nil {
		return nil, fmt.Errorf("fencing: proximity: %w", err)
	}
	cfg.ClaimFor = cmp.Or(max(cfg.ClaimFor, 0), 15*time.Second)
	r := &proxRunner{e: e, cfg: cfg, log: e.log.With("component", "proximity"), teams: make(map[string]*proxTeam),
		stop: make(chan struct{}), done: make(chan struct{}), warn: rateLimited{every: 10 * time.Second}}
	go r.run()
	return r, nil
}

func claimName(team string) string { return "proximity/" + team }

func (r *proxRunner) run() {
	defer close(r.done)
	tick := time.NewTicker(r.cfg.ClaimFor / 3)
	defer tick.Stop()
	for {
		r.round()
		select {
		case <-r.stop:
			r.releaseAll()
			return
		case <-tick.C:
		}
	}
}

// round claims or renews the claim of every team with rules, starts the
// teams won and stops the teams lost or without rules any more.
func (r *proxRunner) round() {
	rules := r.cfg.Rules()
	for name, t := range r.teams {
		if _, ok := rules[name]; !ok {
			r.end(t, true)
		}
	}
	for name := range rules {
		now := r.e.cfg.Now()
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ClaimFor/3)
		ok, err := r.cfg.Claims.Claim(ctx, claimName(name), r.cfg.Holder, now, now.Add(r.cfg.ClaimFor))
		cancel()
		t := r.teams[name]
		switch {
		case err != nil:
			r.e.m.claimErrors.Inc()
			if ok, n := r.warn.allow(); ok {
				r.log.Warn("proximity: claiming a team failed; retried next round", "team", name, "err", err,
					"similar_messages_suppressed", n)
			}
			if t != nil && now.After(t.heldUntil) {
				// The claim ran out unrenewed: another replica may hold it.
				r.end(t, false)
			}
		case ok && t == nil:
			t = r.begin(name)
			t.heldUntil = now.Add(r.cfg.ClaimFor)
		case ok:
			t.heldUntil = now.Add(r.cfg.ClaimFor)
		case t != nil:
			r.end(t, false)
		}
		select {
		case <-r.stop:
			return
		default:
		}
	}
}

func (r *proxRunner) begin(name string) *proxTeam {
	ctx, cancel := context.WithCancel(context.Background())
	t := &proxTeam{name: name, cancel: cancel, done: make(chan struct{})}
	r.teams[name] = t
	r.e.m.proximityTeams.Inc()
	r.log.Info("proximity: evaluating the team's rules here", "team", name)
	go r.evaluate(ctx, t)
	return t
}

// end stops t's evaluation and, when release, gives its claim up.
func (r *proxRunner) end(t *proxTeam, release bool) {
	t.cancel()
	<-t.done
	delete(r.teams, t.name)
	r.e.m.proximityTeams.Dec()
	if release {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := r.cfg.Claims.Release(ctx, claimName(t.name), r.cfg.Holder); err != nil {
			r.log.Warn("proximity: releasing a team's claim failed; it runs out by itself", "team", t.name, "err", err)
		}
		cancel()
	}
	r.log.Info("proximity: no longer evaluating the team's rules here", "team", t.name, "released", release)
}

func (r *proxRunner) releaseAll() {
	for _, t := range r.teams {
		r.end(t, true)
	}
}

// close stops every team and releases their claims. Idempotent.
func (r *proxRunner) close() {
	r.once.Do(func() { close(r.stop) })
	<-r.done
}

// evaluate follows t's stream until ctx ends, watching it again after an
// overflow or a failure.
func (r *proxRunner) evaluate(ctx context.Context, t *proxTeam) {
	defer close(t.done)
	eng, err := proximity.NewEngine(t.name, nil, r.cfg.Engine)
	if err != nil {
		// newProxRunner checked the config: unreachable.
		r.log.Error("proximity: engine", "team", t.name, "err", err)
		return
	}
	ts := &teamEval{r: r, eng: eng, team: t.name}
	for ctx.Err() == nil {
		q := hub.NewQueue(4096, 200_000)
		leave, _, err := r.cfg.Watch(ctx, t.name, q, hub.Start{})
		if err == nil {
			err = ts.follow(ctx, q)
			leave()
		}
		if ctx.Err() != nil {
			return
		}
		if ok, n := r.warn.allow(); ok {
			r.log.Warn("proximity: following the team's stream failed; watching it again", "team", t.name, "err", err,
				"similar_messages_suppressed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// teamEval is the evaluation of one team's rules.
type teamEval struct {
	r      *proxRunner
	eng    *proximity.Engine
	team   string
	rules  []proximity.Rule // as last given to eng
	buf    []tracking.Message
	latest time.Time // the newest fix time seen
}

// errOverflow: the evaluation fell behind its queue's hard limit.
var errOverflow = errors.New("fell behind the team's stream")

func (ts *teamEval) follow(ctx context.Context, q *hub.Queue) error {
	prune := time.NewTicker(30 * time.Second)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-prune.C:
			// On the fixes' clock, as the engine judges: a backlog of old
			// fixes is not pruned as it arrives.
			ts.eng.Prune(ts.latest)
		case <-q.Ready():
			var overflow bool
			ts.buf, _, overflow = q.Drain(ts.buf[:0])
			if overflow {
				return errOverflow
			}
			ts.setRules()
			for i := range ts.buf {
				ts.observe(&ts.buf[i])
			}
			clear(ts.buf)
		}
	}
}

// setRules gives the engine the cache's rules when they changed (the
// cache replaces a team's slice on every change).
func (ts *teamEval) setRules() {
	rs := ts.r.cfg.Rules()[ts.team]
	if len(rs) == len(ts.rules) && (len(rs) == 0 || &rs[0] == &ts.rules[0]) {
		return
	}
	if err := ts.eng.SetRules(rs); err != nil {
		ts.r.log.Warn("proximity: rules refused", "team", ts.team, "err", err)
		return
	}
	ts.rules = rs
}

func (ts *teamEval) observe(m *tracking.Message) {
	if m.Kind != tracking.KindPosition || m.JSON == nil {
		return
	}
	recv := time.Unix(0, m.Received)
	p, err := wire.DecodePosition(m.JSON, recv)
	if err != nil {
		// Published by a replica that validated it: only a newer format
		// gets here.
		ts.r.e.m.proximityBad.Inc()
		return
	}
	t := p.TimeStamp
	if t.After(recv) {
		t = recv
	}
	acc := ts.r.e.cfg.DefaultAccuracy
	if p.Accuracy != nil && *p.Accuracy > 0 {
		acc = *p.Accuracy
	}
	if t.After(ts.latest) {
		ts.latest = t
	}
	ts.r.e.m.proximityFixes.Inc()
	events := ts.eng.Observe(geofence.Fix{Team: ts.team, Worker: p.WorkerID,
		Lat: p.Location.Latitude, Lon: p.Location.Longitude, Accuracy: acc, Time: t})
	if len(events) > 0 {
		ts.r.e.emit(events, ts.r.e.cfg.Now())
	}
}
