package simulator

import (
	"math"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

func movement(lat, lon, radius, minSpeed, maxSpeed float64) Movement {
	m := Movement{Centre: &tracking.Location{Latitude: lat, Longitude: lon}, Radius: radius, MinSpeed: minSpeed, MaxSpeed: maxSpeed}.withDefaults()
	return m
}

func TestMovementDefaults(t *testing.T) {
	m := Movement{}.withDefaults()
	if *m.Centre != SaoPaulo || m.Radius != 3000 || m.MinSpeed != 1 || m.MaxSpeed != 15 {
		t.Fatalf("defaults = %+v centre %v", m, *m.Centre)
	}
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Movement{
		movement(91, 0, 100, 1, 2), movement(0, 181, 100, 1, 2), movement(0, 0, -1, 1, 2),
		movement(0, 0, 100, 5, 2), movement(0, 0, 100, -1, 2), movement(math.NaN(), 0, 100, 1, 2),
	} {
		if bad.validate() == nil {
			t.Errorf("validate(%+v centre %v) = nil, want an error", bad, *bad.Centre)
		}
	}
}

// Workers start around the centre and wander within the radius, at speeds in
// range, heading where they go.
func TestMovementRealistic(t *testing.T) {
	m := movement(SaoPaulo.Latitude, SaoPaulo.Longitude, 2000, 1, 15)
	const dt = 0.5
	for i := range 50 {
		w := newWalker(m, 7, uint64(i))
		if d := distance(*m.Centre, w.pos); d > m.Radius+1 {
			t.Fatalf("worker %d starts %.0f m from the centre, radius %v", i, d, m.Radius)
		}
		var travelled float64
		for range 400 {
			prev := w.pos
			w.step(dt)
			moved := distance(prev, w.pos)
			travelled += moved
			if w.speed < m.MinSpeed || w.speed > m.MaxSpeed {
				t.Fatalf("speed %v outside [%v, %v]", w.speed, m.MinSpeed, m.MaxSpeed)
			}
			// A step is at most speed·dt long (shorter when it turns at a waypoint).
			if moved > w.speed*dt*1.0001+1e-6 {
				t.Fatalf("moved %.3f m in %v s at %.3f m/s", moved, dt, w.speed)
			}
			if w.heading < 0 || w.heading >= 360 {
				t.Fatalf("heading %v outside [0, 360)", w.heading)
			}
			if d := distance(*m.Centre, w.pos); d > m.Radius*1.001+1 {
				t.Fatalf("worker %d wandered %.0f m from the centre, radius %v", i, d, m.Radius)
			}
		}
		if avg := travelled / (400 * dt); avg < m.MinSpeed*0.5 {
			t.Fatalf("worker %d averaged %.2f m/s, below the minimum %v", i, avg, m.MinSpeed)
		}
	}
}

// The heading reported is the direction of travel.
func TestMovementHeadingMatchesTravel(t *testing.T) {
	w := newWalker(movement(48.8566, 2.3522, 5000, 5, 5), 1, 0)
	w.target = destination(w.pos, 90, 4000) // due east, far enough for one step
	w.step(1)
	if math.Abs(w.heading-90) > 1 {
		t.Fatalf("heading %v travelling east", w.heading)
	}
}

// The same seed replays the same paths; another seed does not.
func TestMovementReproducible(t *testing.T) {
	m := Movement{}.withDefaults()
	path := func(seed, index uint64) []tracking.Location {
		w := newWalker(m, seed, index)
		out := []tracking.Location{w.pos}
		for range 100 {
			w.step(0.55)
			out = append(out, w.pos)
		}
		return out
	}
	a, b, c, d := path(42, 3), path(42, 3), path(43, 3), path(42, 4)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: %v and %v with the same seed", i, a[i], b[i])
		}
	}
	if a[0] == c[0] || a[0] == d[0] {
		t.Fatal("another seed or another worker starts at the same place")
	}
}

// Reference bug: coordinates left the valid range. Near the poles and the
// antimeridian, with a huge radius and fast workers, every record still
// validates.
func TestReferenceBugCoordinatesStayValid(t *testing.T) {
	now := time.Date(2026, 11, 22, 13, 21, 4, 0, time.UTC)
	for _, c := range []struct{ lat, lon, radius float64 }{
		{90, 0, 50_000}, {-90, 180, 50_000}, {89.9999, -179.9999, 30_000}, {-89.99, 179.99, 2_000},
		{0, 180, 10_000}, {0, -180, 10_000}, {12, 179.9999, 500}, {-45, -180, 100_000}, {60, 170, 5_000_000},
	} {
		m := movement(c.lat, c.lon, c.radius, 50, 300)
		if err := m.validate(); err != nil {
			t.Fatal(err)
		}
		w := newWalker(m, 99, 0)
		for range 20_000 {
			w.step(1)
			if p := w.pos; !isFinite(p.Latitude) || !isFinite(p.Longitude) || p.Latitude < -90 || p.Latitude > 90 || p.Longitude < -180 || p.Longitude >= 180 {
				t.Fatalf("centre %v,%v: walker at %v", c.lat, c.lon, p)
			}
		}
		for i := range 8 {
			w := newWalker(m, uint64(i), uint64(i))
			rec := newRecord("w-1", "team_one", "run")
			for seq := range uint64(300) {
				w.step(1)
				b := rec.build(w, seq+1, now, false)
				if _, err := wire.DecodePosition(b, now); err != nil {
					t.Fatalf("centre %v,%v: step %d: %v\n%s", c.lat, c.lon, seq, err, b)
				}
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{180, -180}, {-180, -180}, {181, -179}, {-181, 179}, {540, -180}, {359.5, -0.5}, {0, 0}, {179.999, 179.999},
	} {
		if got := wrapLongitude(c.in); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("wrapLongitude(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want float64 }{{-90, 270}, {360, 0}, {720.5, 0.5}, {-1e-15, 0}} {
		if got := normalizeHeading(c.in); math.Abs(got-c.want) > 1e-9 || got >= 360 {
			t.Errorf("normalizeHeading(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	prev := tracking.Location{Latitude: 1, Longitude: 2}
	if got := normalizeLocation(tracking.Location{Latitude: math.NaN(), Longitude: 0}, prev); got != prev {
		t.Errorf("NaN normalised to %v, want the previous %v", got, prev)
	}
	if got := normalizeLocation(tracking.Location{Latitude: 90.0000001, Longitude: 0}, prev); got.Latitude != 90 {
		t.Errorf("latitude past the pole clamped to %v", got.Latitude)
	}
}

func TestGeo(t *testing.T) {
	// One degree of latitude is about 111.2 km.
	a, b := tracking.Location{Latitude: 0, Longitude: 0}, tracking.Location{Latitude: 1, Longitude: 0}
	if d := distance(a, b); math.Abs(d-111_195) > 10 {
		t.Fatalf("distance = %v", d)
	}
	if brg := bearing(a, b); math.Abs(brg) > 1e-9 {
		t.Fatalf("bearing north = %v", brg)
	}
	p := destination(SaoPaulo, 123, 1500)
	if d := distance(SaoPaulo, p); math.Abs(d-1500) > 0.01 {
		t.Fatalf("destination 1500 m away is %v m away", d)
	}
	// Crossing the antimeridian eastwards wraps to the western hemisphere.
	q := destination(tracking.Location{Latitude: 0, Longitude: 179.999}, 90, 1000)
	if q.Longitude > -179 || q.Longitude < -180 {
		t.Fatalf("crossing the antimeridian gave %v", q)
	}
	// Walking north across the pole comes down the other side.
	r := destination(tracking.Location{Latitude: 89.999, Longitude: 10}, 0, 1000)
	if r.Latitude > 90 || math.Abs(r.Longitude-(-170)) > 1e-6 {
		t.Fatalf("crossing the pole gave %v", r)
	}
}

// Reference bug: a coordinate at 0 never moved (a falsy check). The equator
// and the prime meridian are ordinary places: a centre of (0, 0) is kept, not
// mistaken for "unset", and a worker at exactly (0, 0) moves in both axes.
func TestReferenceBugZeroCoordinateMoves(t *testing.T) {
	zero := tracking.Location{}
	m := Movement{Centre: &zero}.withDefaults()
	if *m.Centre != zero {
		t.Fatalf("centre (0, 0) replaced by %v", *m.Centre)
	}
	w := newWalker(m, 1, 0)
	if distance(zero, w.pos) > m.Radius+1 {
		t.Fatalf("worker starts at %v, %.0f m from (0, 0)", w.pos, distance(zero, w.pos))
	}
	w.pos = zero
	w.target = tracking.Location{Latitude: 0.01, Longitude: 0.01}
	w.step(1)
	if w.pos.Latitude == 0 || w.pos.Longitude == 0 {
		t.Fatalf("worker at (0, 0) heading north-east is at %v after a step", w.pos)
	}
	// And along the equator itself (latitude stays 0 and must not be mistaken
	// for missing), the longitude keeps moving.
	w.pos, w.target = zero, tracking.Location{Latitude: 0, Longitude: 0.05}
	lon := w.pos.Longitude
	for range 5 {
		w.step(1)
		if w.pos.Longitude <= lon {
			t.Fatalf("worker on the equator stuck at %v", w.pos)
		}
		lon = w.pos.Longitude
	}
	rec := newRecord("w-1", "team_one", "run")
	b := rec.build(w, 1, time.Now(), false)
	p, err := wire.DecodePosition(b, time.Now())
	if err != nil || p.Location.Latitude != 0 || p.Location.Longitude == 0 {
		t.Fatalf("record %s decodes to %+v, %v", b, p.Location, err)
	}
}
