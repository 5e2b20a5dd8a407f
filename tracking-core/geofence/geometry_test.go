package geofence

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestShapeInsideOutside(t *testing.T) {
	// A 200 m square with a 50 m square hole in its middle; a 100 m circle
	// 1 km east; a MultiPolygon of two 100 m squares 500 m apart.
	holed := Geometry{Type: Polygon, Polygons: []Rings{{square(0, 0, 200), square(0, 0, 50)}}}
	circle := circleFence("c", 1000, 0, 100).Geometry
	multi := Geometry{Type: MultiPolygon, Polygons: []Rings{{square(0, 0, 100)}, {square(500, 0, 100)}}}
	tests := []struct {
		name         string
		g            Geometry
		east, north  float64
		wantDistance float64 // signed, positive inside
	}{
		{"holed: in the ring", holed, 70, 0, 30},
		{"holed: in the hole", holed, 0, 0, -25},
		{"holed: near the hole's edge", holed, 30, 0, 5},
		{"holed: on the outer edge", holed, 100, 0, 0},
		{"holed: outside east", holed, 130, 0, -30},
		{"holed: outside at a corner", holed, 130, 140, -50},
		{"circle: centre", circle, 1000, 0, 100},
		{"circle: inside", circle, 1060, 0, 40},
		{"circle: on the edge", circle, 1000, 100, 0},
		{"circle: outside", circle, 1000, -250, -150},
		{"multi: first part", multi, 10, 0, 40},
		{"multi: second part", multi, 520, 0, 30},
		{"multi: between", multi, 250, 0, -200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.g.validate("geometry"); err != nil {
				t.Fatal(err)
			}
			s, _ := compile(&tt.g, nil)
			lat, lon := at(baseLat, baseLon, tt.east, tt.north)
			d := s.signedDistance(lat, lon)
			if math.Abs(d-tt.wantDistance) > 0.05 {
				t.Fatalf("signed distance %.3f m, want %.3f", d, tt.wantDistance)
			}
			// insideBy and outsideBy agree with the distance, either side
			// of it.
			for _, m := range []float64{0.5, 5, 20} {
				if d > 0.1 || d < -0.1 {
					if got, want := s.insideBy(lat, lon, m), d >= m+0.1; got != want && math.Abs(d-m) > 0.1 {
						t.Errorf("insideBy(%g) = %v at distance %.2f", m, got, d)
					}
					if got, want := s.outsideBy(lat, lon, m), -d >= m+0.1; got != want && math.Abs(-d-m) > 0.1 {
						t.Errorf("outsideBy(%g) = %v at distance %.2f", m, got, d)
					}
				}
			}
		})
	}
}

// TestProjectionError bounds the error of the local projection (earth.go)
// against Vincenty's geodesic on the WGS84 ellipsoid: the distance from a
// fence's centre to points up to 2 km away (city fences) and up to 25 km
// (the largest), at latitudes up to 70°.
func TestProjectionError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		maxLat, reach, maxErr float64
	}{
		{60, 2000, 0.01}, // metres
		{70, 2000, 0.01},
		{60, 25000, 1},
		{70, 25000, 1},
	} {
		worst := 0.0
		for range 2000 {
			lat0 := (rng.Float64()*2 - 1) * tc.maxLat
			lon0 := (rng.Float64()*2 - 1) * 180
			f := newFrame(lat0, lon0)
			r := rng.Float64() * tc.reach
			th := rng.Float64() * 2 * math.Pi
			lat := lat0 + r*math.Sin(th)/f.ky
			lon := lon0 + r*math.Cos(th)/f.kx
			if lon > 180 {
				lon -= 360
			} else if lon < -180 {
				lon += 360
			}
			x, y := f.project(lat, lon)
			got, want := math.Hypot(x, y), vincenty(lat0, lon0, lat, lon)
			worst = max(worst, math.Abs(got-want))
			if d := Distance(lat0, lon0, lat, lon); math.Abs(d-want) > tc.maxErr {
				t.Fatalf("Distance at %.3f,%.3f to %.3f,%.3f: %.3f m, Vincenty %.3f m", lat0, lon0, lat, lon, d, want)
			}
		}
		t.Logf("|lat| <= %g°, up to %g m from the centre: worst error %.3f m", tc.maxLat, tc.reach, worst)
		// Between a point and a nearby one (an edge) both away from the
		// centre, the east-west scale is off by about tan φ0·Δφ/2.
		worstRel := 0.0
		for range 2000 {
			lat0 := (rng.Float64()*2 - 1) * tc.maxLat
			f := newFrame(lat0, 0)
			r, th := rng.Float64()*tc.reach, rng.Float64()*2*math.Pi
			lat1, lon1 := lat0+r*math.Sin(th)/f.ky, r*math.Cos(th)/f.kx
			d, th2 := 1+rng.Float64()*99, rng.Float64()*2*math.Pi
			lat2, lon2 := lat1+d*math.Sin(th2)/f.ky, lon1+d*math.Cos(th2)/f.kx
			x1, y1 := f.project(lat1, lon1)
			x2, y2 := f.project(lat2, lon2)
			want := vincenty(lat1, lon1, lat2, lon2)
			worstRel = max(worstRel, math.Abs(math.Hypot(x2-x1, y2-y1)-want)/want)
		}
		t.Logf("  and between two points 1-100 m apart there: worst relative error %.2g", worstRel)
		if bound := 1e-4 + tc.reach/6.371e6*math.Tan(tc.maxLat*degRad)/2; worstRel > bound {
			t.Errorf("relative error %.2g between nearby points, want <= %.2g", worstRel, bound)
		}
		if worst > tc.maxErr {
			t.Errorf("|lat| <= %g°, up to %g m: worst error %.3f m, want <= %g", tc.maxLat, tc.reach, worst, tc.maxErr)
		}
	}
}

// A fence near the antimeridian is not supported by the index, but nothing
// may crash and a circle's own distances stay right.
func TestAntimeridianDoesNotCrash(t *testing.T) {
	c := Fence{ID: "am", Team: "t", Name: "dateline",
		Geometry: Geometry{Type: Circle, Center: Position{Lon: 179.999, Lat: 0}, Radius: 500}}
	s, _ := compile(&c.Geometry, nil)
	if d := s.signedDistance(0, -179.999); math.Abs(d-(500-222.6)) > 1 {
		t.Errorf("distance across the antimeridian: %.1f m from the edge", d)
	}
	p := Fence{ID: "ap", Team: "t", Name: "across",
		Geometry: Geometry{Type: Polygon, Polygons: []Rings{{{{179.9, 0}, {-179.9, 0}, {-179.9, 1}, {179.9, 1}, {179.9, 0}}}}}}
	if err := p.Validate(); err == nil {
		t.Error("a polygon across the antimeridian is accepted")
	}
	ix := NewIndex([]Fence{c, p, circleFence("pole", 0, 0, 100)})
	e := newEval(t, Config{})
	var st WorkerState
	for i, pos := range [][2]float64{{0, 180}, {0, -180}, {0, 179.9995}, {90, 0}, {-90, 180}, {89.9999, -180}} {
		_ = e.Evaluate(ix, &st, Fix{Team: "t", Worker: "w", Lat: pos[0], Lon: pos[1], Accuracy: 5, Time: t0.Add(timeSecond(i))})
		_ = ix.Candidates(nil, pos[0], pos[1], 1e6)
	}
	polar := Fence{ID: "np", Team: "t", Name: "north pole",
		Geometry: Geometry{Type: Circle, Center: Position{Lon: 10, Lat: 89.999}, Radius: 5000}}
	ix = NewIndex([]Fence{polar})
	if ix.Len() != 1 {
		t.Fatal("a circle around the pole is left out")
	}
	_ = e.Evaluate(ix, &st, Fix{Team: "t", Worker: "w", Lat: 90, Lon: 0, Time: t0.Add(timeSecond(100))})
}
