package defcache

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/geofence"
	"github.com/teamtrack/tracking-core/geofence/proximity"
)

// Source is the part of alerting.Store a Cache reads.
type Source interface {
	Changes(ctx context.Context, since int64) (alerting.ChangeSet, error)
}

// Config tunes a Cache. Zero values take the defaults in the comments.
type Config struct {
	// Source is the store whose definitions are cached. Required.
	Source Source
	// Poll is how often the change feed is read. Default 500ms.
	Poll time.Duration
	// Timeout bounds one read of the change feed. Default 5s.
	Timeout time.Duration
	// Logger receives the cache's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives its metrics. Default: none.
	Registerer prometheus.Registerer
}

// Cache is the replica's copy of every team's fences. Its methods are safe
// for concurrent use.
type Cache struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	snap   atomic.Pointer[map[string]*geofence.Index]  // team -> its fences; teams without none
	rsnap  atomic.Pointer[map[string][]proximity.Rule] // team -> its rules by id; teams without none
	loaded atomic.Bool

	// Owned by the poller goroutine.
	version int64
	fences  map[string]map[string]geofence.Fence // team -> id -> fence
	rules   map[string]map[string]proximity.Rule // team -> id -> rule
	failing bool

	ctx       context.Context // ends with Close: a read in flight stops
	cancel    context.CancelFunc
	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New starts a Cache: its first poll starts at once.
func New(cfg Config) *Cache {
	cfg.Poll = cmp.Or(max(cfg.Poll, 0), 500*time.Millisecond)
	cfg.Timeout = cmp.Or(max(cfg.Timeout, 0), 5*time.Second)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	c := &Cache{cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer), fences: make(map[string]map[string]geofence.Fence),
		rules: make(map[string]map[string]proximity.Rule), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	empty := map[string]*geofence.Index{}
	c.snap.Store(&empty)
	noRules := map[string][]proximity.Rule{}
	c.rsnap.Store(&noRules)
	go c.run()
	return c
}

// Fences returns the index of team's fences, or nil when the team has
// none. The index is immutable: a change replaces it.
func (c *Cache) Fences(team string) *geofence.Index {
	return (*c.snap.Load())[team]
}

// Rules returns the proximity rules of team, by id, or nil when it has
// none. The slice is shared: do not modify it.
func (c *Cache) Rules(team string) []proximity.Rule {
	return (*c.rsnap.Load())[team]
}

// AllRules returns the rules of every team that has some. The map is
// immutable: a change replaces it.
func (c *Cache) AllRules() map[string][]proximity.Rule {
	return *c.rsnap.Load()
}

// Loaded reports whether the first read of the store has succeeded: until
// then every team looks fenceless.
func (c *Cache) Loaded() bool { return c.loaded.Load() }

// Poke asks for a poll now (the replica that changed a definition calls it,
// so that it sees its own change at once).
func (c *Cache) Poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Close stops the poller. Fences keeps answering with the last state. It
// is idempotent.
func (c *Cache) Close() {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.cancel()
		<-c.done
	})
}

func (c *Cache) run() {
	defer close(c.done)
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	for {
		c.poll()
		select {
		case <-c.stop:
			return
		case <-t.C:
		case <-c.wake:
		}
	}
}

// poll reads the changes since the last poll and swaps in the indexes of
// the teams they touch.
func (c *Cache) poll() {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.Timeout)
	defer cancel()
	cs, err := c.cfg.Source.Changes(ctx, c.version)
	if err != nil {
		c.m.pollErrors.Inc()
		if !c.failing {
			// Once per outage: the cache keeps serving what it has.
			c.log.Warn("definitions: reading changes failed; serving the cached fences until it works again", "err", err)
			c.failing = true
		}
		return
	}
	if c.failing {
		c.log.Info("definitions: reading changes works again")
		c.failing = false
	}
	dirty := make(map[string]struct{})
	if cs.Full {
		for team := range c.fences {
			dirty[team] = struct{}{}
		}
		c.fences = make(map[string]map[string]geofence.Fence)
	}
	rulesDirty := c.applyRules(cs)
	for _, d := range cs.Definitions {
		if d.Kind != alerting.KindFence {
			continue
		}
		dirty[d.Team] = struct{}{}
		if d.Deleted {
			delete(c.fences[d.Team], d.ID)
			continue
		}
		f, err := geofence.ParseFence(d.JSON)
		if err != nil {
			// Validated on the way in: only a store written by something
			// else gets here. One bad fence must not blind the team.
			c.m.bad.Inc()
			c.log.Warn("definitions: a stored fence does not parse; left out", "team", d.Team, "id", d.ID, "err", err)
			delete(c.fences[d.Team], d.ID)
			continue
		}
		f.Team, f.ID, f.UpdatedAt = d.Team, d.ID, d.UpdatedAt
		team := c.fences[d.Team]
		if team == nil {
			team = make(map[string]geofence.Fence)
			c.fences[d.Team] = team
		}
		team[d.ID] = f
	}
	c.version = cs.Version
	if len(dirty) > 0 || !c.loaded.Load() {
		c.swap(dirty, cs.Full)
	}
	if rulesDirty || !c.loaded.Load() {
		c.swapRules()
	}
	if !c.loaded.Load() {
		c.loaded.Store(true)
		c.log.Info("definitions loaded", "teams", len(*c.snap.Load()), "version", cs.Version)
	}
}

// swap publishes a new snapshot with the dirty teams' indexes rebuilt.
func (c *Cache) swap(dirty map[string]struct{}, full bool) {
	old := *c.snap.Load()
	next := make(map[string]*geofence.Index, len(old)+len(dirty))
	if !full {
		for team, ix := range old {
			next[team] = ix
		}
	}
	for team := range dirty {
		fs := c.fences[team]
		if len(fs) == 0 {
			delete(c.fences, team)
			delete(next, team)
			continue
		}
		list := make([]geofence.Fence, 0, len(fs))
		for _, f := range fs {
			list = append(list, f)
		}
		slices.SortFunc(list, func(a, b geofence.Fence) int { return strings.Compare(a.ID, b.ID) })
		start := time.Now()
		next[team] = geofence.NewIndex(list)
		if d := time.Since(start); d > 100*time.Millisecond {
			c.log.Info("definitions: slow index build", "team", team, "fences", len(list), "took", d.String())
		}
	}
	c.snap.Store(&next)
	n := 0
	for _, ix := range next {
		n += ix.Len()
	}
	c.m.fences.Set(float64(n))
	c.m.teams.Set(float64(len(next)))
}

// applyRules applies the rules of cs to c.rules and reports whether any
// changed.
func (c *Cache) applyRules(cs alerting.ChangeSet) bool {
	dirty := false
	if cs.Full {
		dirty = len(c.rules) > 0
		c.rules = make(map[string]map[string]proximity.Rule)
	}
	for _, d := range cs.Definitions {
		if d.Kind != alerting.KindRule {
			continue
		}
		dirty = true
		if d.Deleted {
			delete(c.rules[d.Team], d.ID)
			continue
		}
		var r proximity.Rule
		if err := json.Unmarshal(d.JSON, &r); err != nil {
			c.m.bad.Inc()
			c.log.Warn("definitions: a stored rule does not parse; left out", "team", d.Team, "id", d.ID, "err", err)
			delete(c.rules[d.Team], d.ID)
			continue
		}
		r.Team, r.ID = d.Team, d.ID
		team := c.rules[d.Team]
		if team == nil {
			team = make(map[string]proximity.Rule)
			c.rules[d.Team] = team
		}
		team[d.ID] = r
	}
	return dirty
}

// swapRules publishes a new snapshot of the rules.
func (c *Cache) swapRules() {
	next := make(map[string][]proximity.Rule, len(c.rules))
	n := 0
	for team, rs := range c.rules {
		if len(rs) == 0 {
			delete(c.rules, team)
			continue
		}
		list := make([]proximity.Rule, 0, len(rs))
		for _, r := range rs {
			list = append(list, r)
		}
		slices.SortFunc(list, func(a, b proximity.Rule) int { return strings.Compare(a.ID, b.ID) })
		next[team] = list
		n += len(list)
	}
	c.rsnap.Store(&next)
	c.m.rules.Set(float64(n))
}
