package proximity

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/teamtrack/tracking-core/geofence"
)

// Config tunes an Engine. The zero value is the default.
type Config struct {
	// Buffer is the margin, in metres, beyond a rule's distance that two
	// workers must be apart (with their accuracies) to count as apart, or a
	// worker from every teammate to count as alone: hysteresis against
	// noisy GPS, like the exit buffer of fences. Default 10 m.
	Buffer float64
	// Stale is how long without a fix a worker stays known: past it, the
	// worker counts as company for nobody and an apart rule naming it is
	// not judged (no event either way). Default 2 minutes.
	Stale time.Duration
	// MaxAccuracy: fixes less precise than this (metres) are ignored, as
	// too vague to say who is near whom. Default 100 m.
	MaxAccuracy float64
}

// Engine follows the workers of one team and reports the episodes of its
// proximity rules. It is not safe for concurrent use: one goroutine feeds
// it the team's fixes, in the order the team's stream delivers them, so
// that every replica that runs it on the same stream reports the same
// events with the same ids.
//
// Each rule is judged, accuracy-aware, on the fixes of the workers it
// concerns. With d the distance between two workers and u = √(a₁²+a₂²) the
// uncertainty of d from their accuracies a₁, a₂ (independent errors):
//
//   - apart when d - u > Distance + Buffer, together when d + u <= Distance;
//     in between, nothing changes;
//   - an episode starts at the first fix that shows the condition (apart,
//     or alone: every known teammate apart from the worker); its event is
//     reported once, by the first fix at or after start + For, with the
//     time start + For; a fix that shows the opposite (together; a teammate
//     within Distance) ends the episode, with a closing event (Together,
//     Joined) if the episode was reported, silently otherwise;
//   - a worker's alone episode is judged on its own fixes only; a worker
//     silent past Stale starts any unreported episode afresh.
//
// Events carry the rule's first worker (apart) or the worker (alone), its
// position, the rule id and name, and for apart/together the other worker
// as Peer. Episode state lives in memory: a new engine (a restart, another
// replica taking the team) starts every episode afresh.
type Engine struct {
	team        string
	buffer      float64
	stale       time.Duration
	maxAccuracy float64

	rules    []Rule
	pairs    map[string][]int // worker -> indices of apart rules naming it
	loners   []int            // indices of alone rules
	applies  []map[string]bool
	episodes map[episodeKey]*episode

	workers          map[string]*worker
	grid             map[uint64][]*worker
	cellLat, cellLon float64 // 0 until the first fix sets them
	cellM            float64
}

type episodeKey struct{ rule, worker string }

type episode struct {
	since    time.Time
	active   bool
	reported bool
}

type worker struct {
	id            string
	lat, lon, acc float64
	t             time.Time
	key           uint64
	slot          int // index in its grid cell
}

// Defaults of Config.
const (
	DefaultBuffer      = 10.0
	DefaultStale       = 2 * time.Minute
	DefaultMaxAccuracy = 100.0
)

// NewEngine returns the engine of team with the given rules; rules of
// another team or that fail Validate are an error.
func NewEngine(team string, rules []Rule, cfg Config) (*Engine, error) {
	if cfg.Buffer == 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Stale == 0 {
		cfg.Stale = DefaultStale
	}
	if cfg.MaxAccuracy == 0 {
		cfg.MaxAccuracy = DefaultMaxAccuracy
	}
	if math.IsNaN(cfg.Buffer) || cfg.Buffer < 0 || cfg.Stale < 0 || math.IsNaN(cfg.MaxAccuracy) || cfg.MaxAccuracy < 0 {
		return nil, fmt.Errorf("proximity: Buffer, Stale and MaxAccuracy must not be negative")
	}
	e := &Engine{team: team, buffer: cfg.Buffer, stale: cfg.Stale, maxAccuracy: cfg.MaxAccuracy,
		workers: map[string]*worker{}, grid: map[uint64][]*worker{}, episodes: map[episodeKey]*episode{}}
	if err := e.SetRules(rules); err != nil {
		return nil, err
	}
	return e, nil
}

// SetRules replaces the rules. Workers' positions are kept, and so are the
// episodes of rules that did not change; those of changed or removed rules
// are dropped without an event.
func (e *Engine) SetRules(rules []Rule) error {
	for i := range rules {
		if err := rules[i].Validate(); err != nil {
			return fmt.Errorf("rule %d: %w", i, err)
		}
		if rules[i].Team != "" && rules[i].Team != e.team {
			return fmt.Errorf("rule %s: of team %s, not %s", rules[i].ID, rules[i].Team, e.team)
		}
	}
	hadLoners := len(e.loners) > 0
	kept := map[string]bool{}
	for _, r := range rules {
		for _, old := range e.rules {
			if old.ID == r.ID && sameRule(&old, &r) {
				kept[r.ID] = true
			}
		}
	}
	for k := range e.episodes {
		if !kept[k.rule] {
			delete(e.episodes, k)
		}
	}
	e.rules = slices.Clone(rules)
	e.pairs, e.loners, e.applies = map[string][]int{}, nil, nil
	cell := 0.0
	for i := range e.rules {
		r := &e.rules[i]
		r.Workers = slices.Clone(r.Workers)
		if r.Kind == geofence.Apart {
			for _, w := range r.Workers {
				e.pairs[w] = append(e.pairs[w], i)
			}
			continue
		}
		e.loners = append(e.loners, i)
		var set map[string]bool
		if len(r.Workers) > 0 {
			set = map[string]bool{}
			for _, w := range r.Workers {
				set[w] = true
			}
		}
		e.applies = append(e.applies, set)
		cell = max(cell, r.Distance+e.buffer+2*e.maxAccuracy)
	}
	// The grid's cell is about the largest search radius, so that a search
	// reads 3×3 cells; it is rebuilt when that changes.
	cell = min(max(cell, 50), 50000)
	if cell != e.cellM || !hadLoners && len(e.loners) > 0 {
		e.cellM, e.cellLat, e.cellLon = cell, 0, 0
		e.grid = map[uint64][]*worker{}
		for _, w := range e.workers {
			e.place(w)
		}
	}
	return nil
}

func sameRule(a, b *Rule) bool {
	return a.Kind == b.Kind && a.Distance == b.Distance && a.For == b.For && a.Name == b.Name && slices.Equal(a.Workers, b.Workers)
}

// Observe applies one fix of a worker of the team and returns the events
// it causes (nil, without allocating, when none). Fixes of another team,
// out of range, less precise than MaxAccuracy, or not newer than the
// worker's last are ignored.
func (e *Engine) Observe(fix geofence.Fix) []geofence.Event {
	if fix.Team != e.team || !(math.Abs(fix.Lat) <= 90) || !(math.Abs(fix.Lon) <= 180) || fix.Time.IsZero() ||
		fix.Accuracy > e.maxAccuracy || math.IsNaN(fix.Accuracy) {
		return nil
	}
	w := e.workers[fix.Worker]
	if w == nil {
		w = &worker{id: fix.Worker, slot: -1}
		e.workers[w.id] = w
	} else if !fix.Time.After(w.t) {
		return nil
	}
	silent := !w.t.IsZero() && fix.Time.Sub(w.t) > e.stale
	w.lat, w.lon, w.acc, w.t = fix.Lat, fix.Lon, max(fix.Accuracy, 0), fix.Time
	if len(e.loners) > 0 {
		e.place(w)
	}
	var events []geofence.Event
	for _, ri := range e.pairs[w.id] {
		events = e.judgePair(events, &e.rules[ri], w, silent)
	}
	for k, ri := range e.loners {
		if set := e.applies[k]; set == nil || set[w.id] {
			events = e.judgeAlone(events, &e.rules[ri], w, silent)
		}
	}
	return events
}

// Prune forgets the workers without a fix for longer than Stale before
// now, and their episodes (the service calls it now and then).
func (e *Engine) Prune(now time.Time) {
	for id, w := range e.workers {
		if now.Sub(w.t) > e.stale {
			e.unplace(w)
			delete(e.workers, id)
			for k := range e.episodes {
				if k.worker == id {
					delete(e.episodes, k)
				}
			}
		}
	}
}

// Len returns the number of workers the engine knows.
func (e *Engine) Len() int { return len(e.workers) }

func (e *Engine) episode(rule, worker string) *episode {
	k := episodeKey{rule, worker}
	ep := e.episodes[k]
	if ep == nil {
		ep = &episode{}
		e.episodes[k] = ep
	}
	return ep
}

func (e *Engine) fresh(w *worker, now time.Time) bool {
	return w != nil && now.Sub(w.t) <= e.stale
}

func (e *Engine) judgePair(events []geofence.Event, r *Rule, w *worker, silent bool) []geofence.Event {
	a, b := e.workers[r.Workers[0]], e.workers[r.Workers[1]]
	if !e.fresh(a, w.t) || !e.fresh(b, w.t) {
		return events
	}
	ep := e.episode(r.ID, a.id)
	if silent && !ep.reported {
		*ep = episode{}
	}
	d := geofence.Distance(a.lat, a.lon, b.lat, b.lon)
	u := math.Hypot(a.acc, b.acc)
	switch {
	case d-u > r.Distance+e.buffer:
		if !ep.active {
			ep.active, ep.since = true, w.t
		}
		if at := ep.since.Add(r.For); !ep.reported && !w.t.Before(at) {
			ep.reported = true
			events = append(events, e.event(geofence.Apart, r, a, b.id, at))
		}
	case d+u <= r.Distance:
		if ep.reported {
			events = append(events, e.event(geofence.Together, r, a, b.id, w.t))
		}
		*ep = episode{}
	}
	return events
}

func (e *Engine) judgeAlone(events []geofence.Event, r *Rule, w *worker, silent bool) []geofence.Event {
	ep := e.episode(r.ID, w.id)
	if silent && !ep.reported {
		*ep = episode{}
	}
	switch e.company(w, r.Distance) {
	case alone:
		if !ep.active {
			ep.active, ep.since = true, w.t
		}
		if at := ep.since.Add(r.For); !ep.reported && !w.t.Before(at) {
			ep.reported = true
			events = append(events, e.event(geofence.Alone, r, w, "", at))
		}
	case accompanied:
		if ep.reported {
			events = append(events, e.event(geofence.Joined, r, w, "", w.t))
		}
		*ep = episode{}
	}
	return events
}

func (e *Engine) event(kind geofence.Kind, r *Rule, w *worker, peer string, t time.Time) geofence.Event {
	return geofence.Event{
		ID: geofence.EventID(e.team, w.id, r.ID, kind, t), Kind: kind, Team: e.team, Worker: w.id,
		RuleID: r.ID, Peer: peer, Name: r.Name, Lat: w.lat, Lon: w.lon, Time: t,
	}
}

type company int

const (
	uncertain company = iota
	alone
	accompanied
)

// company judges whether w has a fresh teammate within d: certainly
// (accompanied), certainly not (alone), or cannot tell.
func (e *Engine) company(w *worker, d float64) company {
	result := alone
	// Distances through the scale at w's latitude: teammates that matter
	// are within a few hundred metres, where it is exact to millimetres.
	kx, ky := geofence.MetresPerDegree(w.lat)
	// Teammates farther than this are apart from w whatever their accuracy.
	reach := d + e.buffer + w.acc + e.maxAccuracy
	judge := func(o *worker) bool {
		if o == w || !e.fresh(o, w.t) {
			return true
		}
		dy := (o.lat - w.lat) * ky
		if dy > reach || dy < -reach {
			return true
		}
		dlon := o.lon - w.lon
		if dlon > 180 {
			dlon -= 360
		} else if dlon < -180 {
			dlon += 360
		}
		dx := dlon * kx
		dist2 := dx*dx + dy*dy
		if dist2 > reach*reach {
			return true
		}
		dist := math.Sqrt(dist2)
		u := math.Sqrt(w.acc*w.acc + o.acc*o.acc)
		if dist+u <= d {
			result = accompanied
			return false
		}
		if dist-u <= d+e.buffer {
			result = uncertain
		}
		return true
	}
	dlat := reach / 110574 // metres per degree of latitude at least
	c := math.Cos(math.Min(math.Abs(w.lat)+dlat, 90) * math.Pi / 180)
	x0, y0 := e.cellOf(w.lat-dlat, w.lon-reach/(111320*c))
	x1, y1 := e.cellOf(w.lat+dlat, w.lon+reach/(111320*c))
	if c < 1e-6 || (x1-x0+1)*(y1-y0+1) > 64 {
		for _, o := range e.workers { // near a pole, or a huge reach
			if !judge(o) {
				return result
			}
		}
		return result
	}
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			for _, o := range e.grid[cellKey(x, y)] {
				if !judge(o) {
					return result
				}
			}
		}
	}
	return result
}

func (e *Engine) cellOf(lat, lon float64) (x, y int64) {
	return int64(math.Floor((lon + 180) / e.cellLon)), int64(math.Floor((lat + 90) / e.cellLat))
}

func cellKey(x, y int64) uint64 { return uint64(uint32(y))<<32 | uint64(uint32(x)) }

// place puts w in the cell of its position (the grid's cell size in
// degrees is set at the first worker's latitude).
func (e *Engine) place(w *worker) {
	if e.cellLat == 0 {
		e.cellLat = e.cellM / 110574
		e.cellLon = e.cellM / (111320 * math.Max(math.Cos(w.lat*math.Pi/180), 0.01))
	}
	k := cellKey(e.cellOf(w.lat, w.lon))
	if w.slot >= 0 && k == w.key {
		return
	}
	e.unplace(w)
	w.key, w.slot = k, len(e.grid[k])
	e.grid[k] = append(e.grid[k], w)
}

func (e *Engine) unplace(w *worker) {
	if w.slot < 0 {
		return
	}
	cell := e.grid[w.key]
	last := len(cell) - 1
	cell[w.slot] = cell[last]
	cell[w.slot].slot = w.slot
	cell[last] = nil
	if last == 0 {
		delete(e.grid, w.key)
	} else {
		e.grid[w.key] = cell[:last]
	}
	w.slot = -1
}
