package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"

	tracking "github.com/teamtrack/tracking-core"
)

// SaoPaulo is the default city centre (Praça da Sé).
var SaoPaulo = tracking.Location{Latitude: -23.55052, Longitude: -46.633308}

// Movement configures how simulated workers move. The zero value is the default.
type Movement struct {
	// Centre is the city centre the workers are scattered around and wander
	// about. Default (nil): SaoPaulo. A pointer so that the centre (0, 0) is a
	// valid choice and never mistaken for "unset".
	Centre *tracking.Location
	// Radius is how far from the centre, in metres, workers start and pick their
	// waypoints. Default: 3000.
	Radius float64
	// MinSpeed and MaxSpeed bound the travel speed in m/s; each leg between two
	// waypoints has its own cruising speed in this range. Default (both zero):
	// 1 (walking) to 15 (driving in town).
	MinSpeed, MaxSpeed float64
}

func (m Movement) withDefaults() Movement {
	if m.Centre == nil {
		c := SaoPaulo
		m.Centre = &c
	}
	if m.Radius == 0 {
		m.Radius = 3000
	}
	if m.MinSpeed == 0 && m.MaxSpeed == 0 {
		m.MinSpeed, m.MaxSpeed = 1, 15
	}
	return m
}

func (m Movement) validate() error {
	c := *m.Centre
	if !isFinite(c.Latitude) || c.Latitude < -90 || c.Latitude > 90 {
		return fmt.Errorf("movement: centre latitude %v is not in [-90, 90]", c.Latitude)
	}
	if !isFinite(c.Longitude) || c.Longitude < -180 || c.Longitude > 180 {
		return fmt.Errorf("movement: centre longitude %v is not in [-180, 180]", c.Longitude)
	}
	if !isFinite(m.Radius) || m.Radius <= 0 || m.Radius > math.Pi*earthRadius {
		return fmt.Errorf("movement: radius %v m must be in (0, %.0f]", m.Radius, math.Pi*earthRadius)
	}
	if !isFinite(m.MaxSpeed) || m.MinSpeed < 0 || m.MaxSpeed < m.MinSpeed || m.MaxSpeed <= 0 || m.MaxSpeed > 350 {
		return fmt.Errorf("movement: speeds [%v, %v] m/s must satisfy 0 <= min <= max, 0 < max <= 350", m.MinSpeed, m.MaxSpeed)
	}
	return nil
}

// walker is one worker's movement: it travels along great circles from
// waypoint to waypoint, each leg at its own cruising speed with a little
// jitter per step, like a courier in traffic. All randomness comes from its own
// generator, seeded from the run's seed and the worker's index, so a run is
// reproducible whatever the scheduling of goroutines.
type walker struct {
	rng                *rand.Rand
	centre             tracking.Location
	radius             float64
	minSpeed, maxSpeed float64

	pos, target tracking.Location
	legSpeed    float64 // cruising speed of the current leg, m/s
	speed       float64 // speed during the last step, m/s
	heading     float64 // direction of travel, degrees clockwise from north, [0, 360)
	accuracy    float64 // reported GPS accuracy, m
}

// newWalker returns the walker of worker index in a run seeded with seed. m
// must have its defaults applied and be valid.
func newWalker(m Movement, seed, index uint64) *walker {
	w := &walker{
		rng:      rand.New(rand.NewPCG(seed, index)),
		centre:   *m.Centre,
		radius:   m.Radius,
		minSpeed: m.MinSpeed,
		maxSpeed: m.MaxSpeed,
	}
	w.pos = w.randomPoint()
	w.newLeg()
	w.speed = w.legSpeed
	w.heading = bearing(w.pos, w.target)
	w.accuracy = 3 + 7*w.rng.Float64()
	return w
}

// randomPoint returns a point uniformly distributed over the disc of the
// configured radius around the centre.
func (w *walker) randomPoint() tracking.Location {
	d := w.radius * math.Sqrt(w.rng.Float64())
	return destination(w.centre, 360*w.rng.Float64(), d)
}

func (w *walker) newLeg() {
	w.target = w.randomPoint()
	w.legSpeed = w.minSpeed + (w.maxSpeed-w.minSpeed)*w.rng.Float64()
}

// step advances the walker by dt seconds.
func (w *walker) step(dt float64) {
	v := clamp(w.legSpeed*(0.9+0.2*w.rng.Float64()), w.minSpeed, w.maxSpeed)
	w.speed = v
	left := v * dt
	// A fast worker in a small area may pass several waypoints in one step; the
	// bound only guards against a degenerate radius.
	for range 16 {
		if left <= 0 {
			break
		}
		d := distance(w.pos, w.target)
		if d <= left {
			w.pos = w.target
			left -= d
			w.newLeg()
			continue
		}
		w.pos = destination(w.pos, bearing(w.pos, w.target), left)
		left = 0
	}
	if distance(w.pos, w.target) > 0 {
		w.heading = bearing(w.pos, w.target)
	}
	w.accuracy = clamp(w.accuracy+w.rng.Float64()-0.5, 3, 20)
}
