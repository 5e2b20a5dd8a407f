package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/geofence"
)

// Shapes of the fences a load run creates (LoadConfig.Geofences).
const (
	fenceMinRadius = 50.0  // metres
	fenceMaxRadius = 500.0 // metres
	fenceDwell     = 10 * time.Second
	// fenceSeedSalt keeps the fences' random stream apart from the
	// walkers' (seeded with the worker's index).
	fenceSeedSalt = 0x6765_6f66_656e_6365 // "geofence"
)

// plannedFence is one fence of a load run: its team and its definition.
type plannedFence struct {
	team  string
	fence geofence.Fence
}

// fencePlan is what a run's fences are, for the report.
type fencePlan struct {
	fences                             []plannedFence
	circles, polygons, dwell, schedule int
}

// planFences returns n fences spread evenly over the run's teams (the first
// n mod teams one more), each around a point that one of its team's
// workers passes during the window: fence j of a team is centred on where
// its worker j mod workers will be at a step of the window, found by
// walking a copy of that worker's walker (same movement, seed and index,
// same nominal step). Of a few random steps, the one farthest from where
// the worker is when the window opens and when it closes is taken. Radii
// are drawn from 50-500 m; every other fence's is then kept small enough
// that the worker is outside at both ends, when it can be, so that it
// enters and exits during the window (and dwells, if it lingers). A worker
// that moves too little to leave a 50 m fence is inside from its first
// position. A worker whose random start came late passes the points up to
// the ramp later.
//
// Shapes: circles; every fourth fence a polygon of 5-8 vertices on a circle
// of that radius; every third with a 10 s dwell; every fifth with an
// all-day schedule (evaluated, never inactive). All are valid by
// geofence.Fence.Validate; a polygon that would not be (at a pole, across
// the antimeridian) is a circle instead.
func planFences(cfg LoadConfig, teams []*loadTeam, run string) (*fencePlan, error) {
	n := cfg.Geofences
	if n <= 0 {
		return &fencePlan{}, nil
	}
	const candidates = 4
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	first := int((cfg.Ramp + cfg.Warmup) / interval)
	steps := max(1, int(cfg.Duration/interval))

	// Per worker (its index in the run), the steps whose positions are
	// needed, and where to put them.
	type need struct {
		step int
		at   *tracking.Location
	}
	type place struct {
		ends       *[2]tracking.Location // the worker's positions when the window opens and closes
		candidates [candidates]tracking.Location
	}
	needs := make(map[int][]need)
	ends := make(map[int]*[2]tracking.Location)
	plan := &fencePlan{fences: make([]plannedFence, 0, n)}
	places := make([]place, n)
	rngs := make([]*rand.Rand, len(teams))
	for t, team := range teams {
		rngs[t] = rand.New(rand.NewPCG(cfg.Seed^fenceSeedSalt, uint64(t)))
		count := n / len(teams)
		if t < n%len(teams) {
			count++
		}
		for j := range count {
			// newLoadRun deals workers round robin: the k-th worker of team t
			// is worker t + k*teams of the run.
			worker := t + (j%len(team.workers))*len(teams)
			if ends[worker] == nil {
				ends[worker] = new([2]tracking.Location)
				needs[worker] = append(needs[worker], need{first, &ends[worker][0]}, need{first + steps, &ends[worker][1]})
			}
			pl := &places[len(plan.fences)]
			pl.ends = ends[worker]
			for c := range pl.candidates {
				needs[worker] = append(needs[worker], need{first + rngs[t].IntN(steps), &pl.candidates[c]})
			}
			plan.fences = append(plan.fences, plannedFence{team: team.name, fence: geofence.Fence{
				Name: fmt.Sprintf("team-simulator %s %s #%d", run, team.name, j+1),
			}})
		}
	}
	for worker, ns := range needs {
		slices.SortFunc(ns, func(a, b need) int { return a.step - b.step })
		w := newWalker(cfg.Movement, cfg.Seed, uint64(worker))
		at := 0
		for _, nd := range ns {
			for ; at < nd.step; at++ {
				w.step(interval.Seconds())
			}
			*nd.at = w.pos
		}
	}
	// Shapes team by team in plan order, each team from its own generator:
	// the plan is the same whatever order the map gave the workers in.
	j := 0
	for t, team := range teams {
		rng := rngs[t]
		for i := 0; j < len(plan.fences) && plan.fences[j].team == team.name; i, j = i+1, j+1 {
			pl := &places[j]
			centre, room := pl.candidates[0], -1.0
			for _, c := range pl.candidates {
				if d := min(distance(c, pl.ends[0]), distance(c, pl.ends[1])); d > room {
					centre, room = c, d
				}
			}
			f := &plan.fences[j].fence
			shapeFence(f, centre, room, i, rng)
			if err := f.Validate(); err != nil {
				return nil, fmt.Errorf("fence %q: %w", f.Name, err)
			}
			switch f.Geometry.Type {
			case geofence.Circle:
				plan.circles++
			default:
				plan.polygons++
			}
			if f.Dwell > 0 {
				plan.dwell++
			}
			if f.Schedule != nil {
				plan.schedule++
			}
		}
	}
	return plan, nil
}

// shapeFence gives f, the i-th fence of its team, its shape around c, with
// its edge within room metres of c when it can be.
func shapeFence(f *geofence.Fence, c tracking.Location, room float64, i int, rng *rand.Rand) {
	r := fenceMinRadius + (fenceMaxRadius-fenceMinRadius)*rng.Float64()
	if i%2 == 0 {
		// Outside by the largest GPS accuracy (20 m) and the exit buffer
		// (10 m), with a margin: the worker enters and leaves the fence
		// within the window. The other half keep their size, so that
		// large fences (workers inside them for long) are there too.
		r = min(r, max(fenceMinRadius, 0.8*room-30))
	}
	vertices := 5 + rng.IntN(4)
	rotation := 360 * rng.Float64()
	f.Geometry = geofence.Geometry{Type: geofence.Circle, Center: geofence.Position{Lat: c.Latitude, Lon: c.Longitude}, Radius: r}
	if i%4 == 3 {
		ring := make(geofence.Ring, 0, vertices+1)
		for v := range vertices {
			p := destination(c, rotation+float64(v)*360/float64(vertices), r)
			ring = append(ring, geofence.Position{Lat: p.Latitude, Lon: p.Longitude})
		}
		ring = append(ring, ring[0])
		poly := geofence.Geometry{Type: geofence.Polygon, Polygons: []geofence.Rings{{ring}}}
		// Across the antimeridian or around a pole a polygon is not
		// valid (or not what it seems): keep the circle there.
		if crossesAntimeridian(ring) {
			poly.Type = ""
		}
		if poly.Type != "" && (&geofence.Fence{Name: "x", Geometry: poly}).Validate() == nil {
			f.Geometry = poly
		}
	}
	if i%3 == 0 {
		f.Dwell = fenceDwell
	}
	if i%5 == 4 {
		f.Schedule = &geofence.Schedule{From: 0, To: 24 * 60, TZ: "UTC"}
	}
}

func crossesAntimeridian(r geofence.Ring) bool {
	for i := 1; i < len(r); i++ {
		if math.Abs(r[i].Lon-r[i-1].Lon) > 180 {
			return true
		}
	}
	return false
}
