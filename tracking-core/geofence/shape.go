package geofence

import (
	"math"
	"time"
)

// shape is a Geometry compiled for evaluation: its bounding box in degrees
// and, in a local frame (earth.go) centred on that box, a circle or the
// edges of every ring. The tests below are the whole of the geometry:
//
//	insideBy(p, m):  p is inside and at least m metres from the boundary
//	outsideBy(p, m): p is outside and at least m metres from the boundary
//
// Polygons use the even-odd rule over all rings of all polygons, which is
// the GeoJSON meaning for valid (non-overlapping) rings: a hole's points are
// outside, a MultiPolygon's points are inside any of its parts. The distance
// to the boundary is the distance to the nearest edge of any ring.
type shape struct {
	frame
	circle bool
	radius float64
	edges  []edge
	box    box
	// What the evaluator needs of the fence on every fix, kept here so that
	// it reads one struct per fence, not the Fence as well.
	dwell    time.Duration
	schedule *Schedule
}

// box is a bounding box in degrees.
type box struct {
	minLat, minLon, maxLat, maxLon float64
}

func (b *box) contains(lat, lon float64) bool {
	return lat >= b.minLat && lat <= b.maxLat && lon >= b.minLon && lon <= b.maxLon
}

// edge is a segment from (ax, ay) to (ax+dx, ay+dy), in metres.
type edge struct {
	ax, ay, dx, dy float64
	inv            float64 // 1/(dx²+dy²), 0 for a zero-length edge
}

// dist2 returns the squared distance from (x, y) to the segment.
func (e *edge) dist2(x, y float64) float64 {
	px, py := x-e.ax, y-e.ay
	t := (px*e.dx + py*e.dy) * e.inv
	if t < 0 {
		t = 0
	} else if t > 1 {
		t = 1
	}
	qx, qy := px-t*e.dx, py-t*e.dy
	return qx*qx + qy*qy
}

// compile builds the shape of a validated geometry, its edges taken from
// the front of slab when it has room (NewIndex allocates one slab for all
// fences); it returns the rest of slab.
func compile(g *Geometry, slab []edge) (shape, []edge) {
	if g.Type == Circle {
		s := shape{frame: newFrame(g.Center.Lat, g.Center.Lon), circle: true, radius: g.Radius}
		dlat, dlon := degreesFor(g.Radius, g.Center.Lat)
		s.box = box{g.Center.Lat - dlat, g.Center.Lon - dlon, g.Center.Lat + dlat, g.Center.Lon + dlon}
		return s, slab
	}
	b := box{minLat: 90, minLon: 180, maxLat: -90, maxLon: -180}
	n := 0
	for _, rings := range g.Polygons {
		for _, r := range rings {
			n += len(r) - 1
			for _, p := range r {
				b.minLat, b.maxLat = math.Min(b.minLat, p.Lat), math.Max(b.maxLat, p.Lat)
				b.minLon, b.maxLon = math.Min(b.minLon, p.Lon), math.Max(b.maxLon, p.Lon)
			}
		}
	}
	s := shape{frame: newFrame((b.minLat+b.maxLat)/2, (b.minLon+b.maxLon)/2), box: b}
	if len(slab) >= n {
		s.edges, slab = slab[:0:n], slab[n:]
	} else {
		s.edges = make([]edge, 0, n)
	}
	for _, rings := range g.Polygons {
		for _, r := range rings {
			for i := 0; i+1 < len(r); i++ {
				ax, ay := s.project(r[i].Lat, r[i].Lon)
				bx, by := s.project(r[i+1].Lat, r[i+1].Lon)
				e := edge{ax: ax, ay: ay, dx: bx - ax, dy: by - ay}
				if l2 := e.dx*e.dx + e.dy*e.dy; l2 > 0 {
					e.inv = 1 / l2
				}
				s.edges = append(s.edges, e)
			}
		}
	}
	return s, slab
}

// contains reports whether the point (x, y) of the frame is inside the
// polygon (even-odd rule).
func (s *shape) contains(x, y float64) bool {
	in := false
	for i := range s.edges {
		e := &s.edges[i]
		by := e.ay + e.dy
		if (e.ay > y) != (by > y) && x < e.ax+(y-e.ay)*e.dx/e.dy {
			in = !in
		}
	}
	return in
}

// farFromEdges reports whether every edge is at least m metres from (x, y).
func (s *shape) farFromEdges(x, y, m float64) bool {
	m2 := m * m
	for i := range s.edges {
		if s.edges[i].dist2(x, y) < m2 {
			return false
		}
	}
	return true
}

// insideBy reports whether (lat, lon) is inside the shape and at least m
// metres (m >= 0) from its boundary: the accuracy circle is wholly inside.
func (s *shape) insideBy(lat, lon, m float64) bool {
	x, y := s.project(lat, lon)
	if s.circle {
		r := s.radius - m
		return r >= 0 && x*x+y*y <= r*r
	}
	return s.contains(x, y) && (m <= 0 || s.farFromEdges(x, y, m))
}

// outsideBy reports whether (lat, lon) is outside the shape and at least m
// metres (m >= 0) from its boundary.
func (s *shape) outsideBy(lat, lon, m float64) bool {
	x, y := s.project(lat, lon)
	if s.circle {
		r := s.radius + m
		return x*x+y*y >= r*r
	}
	if !s.box.contains(lat, lon) {
		// Outside the box: outside the polygon; far outside it, far from
		// every edge (in the frame's own metric, which the edges use).
		dlat, dlon := m/s.ky, m/s.kx
		if lat < s.box.minLat-dlat || lat > s.box.maxLat+dlat || lon < s.box.minLon-dlon || lon > s.box.maxLon+dlon {
			return true
		}
		return s.farFromEdges(x, y, m)
	}
	return !s.contains(x, y) && (m <= 0 || s.farFromEdges(x, y, m))
}

// signedDistance returns the distance in metres from (lat, lon) to the
// boundary, positive inside, negative outside (for tests and tools; the
// evaluator asks insideBy and outsideBy, which stop early).
func edgeCount(g *Geometry) int {
	n := 0
	for _, rings := range g.Polygons {
		for _, r := range rings {
			n += max(len(r)-1, 0)
		}
	}
	return n
}

func (s *shape) signedDistance(lat, lon float64) float64 {
	x, y := s.project(lat, lon)
	if s.circle {
		return s.radius - math.Hypot(x, y)
	}
	d2 := math.Inf(1)
	for i := range s.edges {
		d2 = math.Min(d2, s.edges[i].dist2(x, y))
	}
	d := math.Sqrt(d2)
	if s.contains(x, y) {
		return d
	}
	return -d
}
