package geofence

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// cityFences returns n fences spread over a side×side metres square around
// the base: half circles, half star-shaped 12-gons, their diameters
// log-uniform from 50 m to 2 km.
func cityFences(n int, side float64, seed uint64) []Fence {
	rng := rand.New(rand.NewPCG(seed, 1))
	fences := make([]Fence, n)
	for i := range fences {
		east, north := (rng.Float64()-0.5)*side, (rng.Float64()-0.5)*side
		d := 50 * math.Pow(40, rng.Float64()) // 50 m to 2 km
		id := fmt.Sprintf("f%d", i)
		if i%2 == 0 {
			fences[i] = circleFence(id, east, north, d/2)
			continue
		}
		var r Ring
		for k := range 12 {
			a := float64(k) / 12 * 2 * math.Pi
			rad := d / 2 * (0.6 + 0.4*rng.Float64())
			la, lo := at(baseLat, baseLon, east+rad*math.Cos(a), north+rad*math.Sin(a))
			r = append(r, Position{Lon: lo, Lat: la})
		}
		r = append(r, r[0])
		fences[i] = Fence{ID: id, Team: "team_one", Name: "Polygon " + id,
			Geometry: Geometry{Type: Polygon, Polygons: []Rings{{r}}}}
	}
	return fences
}

// Candidates finds exactly the fences whose box is near the point, each
// once, as a scan of every box does.
func TestCandidatesMatchScan(t *testing.T) {
	fences := cityFences(3000, 30000, 7)
	// A few giants for the big list.
	fences = append(fences, circleFence("giant", 0, 0, 20000), squareFence("wide", 3000, 0, 40000))
	ix := NewIndex(fences)
	if ix.Len() != len(fences) || len(ix.big) == 0 {
		t.Fatalf("%d fences indexed of %d, %d big", ix.Len(), len(fences), len(ix.big))
	}
	rng := rand.New(rand.NewPCG(8, 9))
	var got []*Fence
	for range 2000 {
		lat, lon := at(baseLat, baseLon, (rng.Float64()-0.5)*40000, (rng.Float64()-0.5)*40000)
		radius := []float64{0, 10, 30, 500}[rng.IntN(4)]
		got = ix.Candidates(got[:0], lat, lon, radius)
		var ids []string
		for _, f := range got {
			ids = append(ids, f.ID)
		}
		dlat, dlon := degreesFor(radius, lat)
		var want []string
		for i := range ix.shapes {
			b := &ix.shapes[i].box
			if b.minLat <= lat+dlat && b.maxLat >= lat-dlat && b.minLon <= lon+dlon && b.maxLon >= lon-dlon {
				want = append(want, ix.fences[i].ID)
			}
		}
		slices.Sort(ids)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("at %v,%v r=%v: got %v, want %v", lat, lon, radius, ids, want)
		}
	}
}

func TestNewIndexLeavesOutBadFences(t *testing.T) {
	good := circleFence("a", 0, 0, 10)
	dup := circleFence("a", 100, 0, 10)
	noID := circleFence("", 0, 0, 10)
	bad := circleFence("b", 0, 0, -1)
	ix := NewIndex([]Fence{good, dup, noID, bad})
	if ix.Len() != 1 {
		t.Fatalf("Len %d, want 1", ix.Len())
	}
	if f, ok := ix.Fence("a"); !ok || f.Geometry.Center != good.Geometry.Center {
		t.Fatal("the first of a duplicate id is not the one kept")
	}
	if NewIndex(nil).Candidates(nil, 0, 0, 10) != nil {
		t.Fatal("empty index has candidates")
	}
}
