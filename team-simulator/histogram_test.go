package simulator

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// The histogram agrees with a sorted sample within its precision.
func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	var sample []time.Duration
	for range 100_000 {
		// Log-normal around a few ms, with a long tail.
		d := time.Duration(math.Exp(rng.NormFloat64()*1.2+8) * float64(time.Microsecond))
		sample = append(sample, d)
		h.Record(d)
	}
	slices.Sort(sample)
	for _, q := range []float64{0.5, 0.95, 0.99, 0.999, 1} {
		want := sample[int(math.Ceil(q*float64(len(sample))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 1.0/64 {
			t.Errorf("q%v = %v, want %v (%.2f%% off)", q, got, want, rel*100)
		}
	}
	if h.Max() != sample[len(sample)-1].Truncate(time.Microsecond) {
		t.Errorf("max = %v, want %v", h.Max(), sample[len(sample)-1])
	}
	if h.Count() != uint64(len(sample)) {
		t.Errorf("count = %d", h.Count())
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram must report 0")
	}
	h.Record(-time.Second) // clock skew counts as 0
	h.Record(50 * time.Microsecond)
	h.Record(1000 * time.Hour) // beyond the range: last bucket, max exact
	if h.Quantile(0.3) != 0 || h.Quantile(0.6) != 50*time.Microsecond || h.Max() != 1000*time.Hour || h.Quantile(1) > h.Max() {
		t.Fatalf("q0.3 %v q0.6 %v max %v q1 %v", h.Quantile(0.3), h.Quantile(0.6), h.Max(), h.Quantile(1))
	}
	for i := range histBuckets - 1 {
		if histIndex(histUpper(i)) != i || histIndex(histUpper(i)+1) != i+1 {
			t.Fatalf("bucket %d: bounds do not tile", i)
		}
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if h.Count() != 8000 || h.Max() != 7999*time.Microsecond {
		t.Fatalf("count %d max %v", h.Count(), h.Max())
	}
}
