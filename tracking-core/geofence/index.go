package geofence

import (
	"math"
	"slices"
)

// Index holds the fences of one team, compiled, with a spatial index over
// their bounding boxes. It is immutable and safe for concurrent use: when a
// fence changes, build a new one (NewIndex takes about 50 ms for 50,000
// fences on this 2-core machine) and swap the pointer.
//
// The spatial index is a uniform grid in degrees, hashed (only cells that
// fences touch exist): each fence is listed in every cell its box overlaps,
// with the box alongside so that a query reads one contiguous run. The cell
// size follows the fences (about their median size), so a query looks at one
// cell and a handful of boxes. Fences that would cover more than maxCells
// cells are kept in a short list that every query scans instead. A grid
// suits fences of similar, city sizes: a point query is one hash lookup and
// a contiguous scan, with no tree descent (an R-tree was not measured; the
// grid already leaves the index lookup a small part of Evaluate's cost,
// which is dominated by the fences the worker is inside).
type Index struct {
	fences []Fence
	shapes []shape
	byID   map[string]int32

	cellLat, cellLon float64          // cell size in degrees
	cells            map[uint64]int32 // cell key -> index into start
	start            []int32          // items of cell i: items[start[i]:start[i+1]]
	items            []item
	big              []item // fences over too many cells
}

// item is a fence in a cell: its box, then its index.
type item struct {
	box
	f int32
}

const maxCells = 64 // cells a fence may span before it goes to the big list

// NewIndex compiles fences into an index. Fences that fail Validate, have no
// ID, or repeat an earlier ID are left out (Len counts those kept): the
// service validates on the way in, and one bad record must not blind the
// evaluation of a whole team.
func NewIndex(fences []Fence) *Index {
	ix := &Index{
		fences: make([]Fence, 0, len(fences)),
		shapes: make([]shape, 0, len(fences)),
		byID:   make(map[string]int32, len(fences)),
	}
	for i := range fences {
		if _, dup := ix.byID[fences[i].ID]; dup || fences[i].ID == "" {
			continue
		}
		ix.fences = append(ix.fences, fences[i])
		f := &ix.fences[len(ix.fences)-1]
		if f.Schedule != nil {
			s := *f.Schedule // validate loads the zone into the copy
			f.Schedule = &s
		}
		if f.Validate() != nil {
			ix.fences = ix.fences[:len(ix.fences)-1]
			continue
		}
		ix.byID[f.ID] = int32(len(ix.fences) - 1)
	}
	n := 0
	for i := range ix.fences {
		n += edgeCount(&ix.fences[i].Geometry)
	}
	slab := make([]edge, n)
	for i := range ix.fences {
		f := &ix.fences[i]
		var sh shape
		sh, slab = compile(&f.Geometry, slab)
		sh.dwell, sh.schedule = f.Dwell, f.Schedule
		ix.shapes = append(ix.shapes, sh)
	}
	ix.buildGrid()
	return ix
}

// Len returns the number of fences in the index.
func (ix *Index) Len() int { return len(ix.fences) }

// Fence returns the fence with the given id.
func (ix *Index) Fence(id string) (*Fence, bool) {
	i, ok := ix.lookup(id)
	if !ok {
		return nil, false
	}
	return &ix.fences[i], true
}

// Fences returns the fences of the index, in input order (do not modify).
func (ix *Index) Fences() []Fence { return ix.fences }

func (ix *Index) lookup(id string) (int32, bool) {
	i, ok := ix.byID[id]
	return i, ok
}

// buildGrid chooses the cell size and fills the grid in two passes (count,
// then place), so that the items of a cell are contiguous.
func (ix *Index) buildGrid() {
	n := len(ix.shapes)
	if n == 0 {
		return
	}
	// Cell size: the median box of the fences (of a sample of up to 1,024),
	// in metres at their median latitude, clamped; the box sides in degrees
	// follow from it.
	step := max(n/1024, 1)
	var sizes, lats []float64
	for i := 0; i < n; i += step {
		s := &ix.shapes[i]
		sizes = append(sizes, math.Max((s.box.maxLat-s.box.minLat)*s.ky, (s.box.maxLon-s.box.minLon)*s.kx))
		lats = append(lats, s.lat0)
	}
	slices.Sort(sizes)
	slices.Sort(lats)
	cell := math.Min(math.Max(sizes[len(sizes)/2], 50), 20000)
	f := newFrame(lats[len(lats)/2], 0)
	ix.cellLat, ix.cellLon = cell/f.ky, cell/f.kx

	// Pass 1: the cell of every (fence, cell) pair, in fence order, and
	// the count of each cell.
	ix.cells = make(map[uint64]int32, n)
	slots := make([]int32, 0, 4*n)
	var counts []int32
	for i := range ix.shapes {
		b := &ix.shapes[i].box
		x0, y0 := ix.cellOf(b.minLat, b.minLon)
		x1, y1 := ix.cellOf(b.maxLat, b.maxLon)
		if (x1-x0+1)*(y1-y0+1) > maxCells {
			ix.big = append(ix.big, item{*b, int32(i)})
			continue
		}
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				k := cellKey(x, y)
				c, ok := ix.cells[k]
				if !ok {
					c = int32(len(counts))
					ix.cells[k] = c
					counts = append(counts, 0)
				}
				counts[c]++
				slots = append(slots, c)
			}
		}
	}
	ix.start = make([]int32, len(counts)+1)
	for c, k := range counts {
		ix.start[c+1] = ix.start[c] + k
	}
	// Pass 2: place the items, walking the pairs in the same order.
	ix.items = make([]item, len(slots))
	next := counts // reused as the fill position of each cell
	copy(next, ix.start[:len(counts)])
	j := 0
	for i := range ix.shapes {
		b := &ix.shapes[i].box
		x0, y0 := ix.cellOf(b.minLat, b.minLon)
		x1, y1 := ix.cellOf(b.maxLat, b.maxLon)
		if (x1-x0+1)*(y1-y0+1) > maxCells {
			continue
		}
		for range (x1 - x0 + 1) * (y1 - y0 + 1) {
			c := slots[j]
			j++
			ix.items[next[c]] = item{*b, int32(i)}
			next[c]++
		}
	}
}

func (ix *Index) cellOf(lat, lon float64) (x, y int64) {
	return int64(math.Floor((lon + 180) / ix.cellLon)), int64(math.Floor((lat + 90) / ix.cellLat))
}

func cellKey(x, y int64) uint64 { return uint64(uint32(y))<<32 | uint64(uint32(x)) }

// cell returns the items of the cell holding (lat, lon).
func (ix *Index) cell(lat, lon float64) []item {
	if ix.cells == nil {
		return nil
	}
	c, ok := ix.cells[cellKey(ix.cellOf(lat, lon))]
	if !ok {
		return nil
	}
	return ix.items[ix.start[c]:ix.start[c+1]]
}

// Candidates appends to dst the fences whose bounding box comes within
// radius metres of (lat, lon), each once, and returns it: the fences a
// worker there, with that uncertainty, may be inside or near. The
// evaluator itself only asks for radius 0 (an enter needs the point inside)
// and looks up by id the fences a worker is already inside.
func (ix *Index) Candidates(dst []*Fence, lat, lon, radius float64) []*Fence {
	if ix.cells == nil {
		return dst
	}
	dlat, dlon := degreesFor(math.Max(radius, 0), lat)
	q := box{lat - dlat, lon - dlon, lat + dlat, lon + dlon}
	x0, y0 := ix.cellOf(q.minLat, q.minLon)
	x1, y1 := ix.cellOf(q.maxLat, q.maxLon)
	overlaps := func(b *box) bool {
		return b.minLat <= q.maxLat && b.maxLat >= q.minLat && b.minLon <= q.maxLon && b.maxLon >= q.minLon
	}
	if (x1-x0+1)*(y1-y0+1) > int64(len(ix.cells)) {
		for i := range ix.shapes { // a query larger than the grid: scan
			if overlaps(&ix.shapes[i].box) {
				dst = append(dst, &ix.fences[i])
			}
		}
		return dst
	}
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			c, ok := ix.cells[cellKey(x, y)]
			if !ok {
				continue
			}
			for _, it := range ix.items[ix.start[c]:ix.start[c+1]] {
				if !overlaps(&it.box) {
					continue
				}
				// A fence is in every cell its box overlaps: report it
				// from the first of those the query visits, only.
				bx, by := ix.cellOf(it.minLat, it.minLon)
				if max(bx, x0) == x && max(by, y0) == y {
					dst = append(dst, &ix.fences[it.f])
				}
			}
		}
	}
	for i := range ix.big {
		if overlaps(&ix.big[i].box) {
			dst = append(dst, &ix.fences[ix.big[i].f])
		}
	}
	return dst
}
