package simulator

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records durations in the manner of HdrHistogram: values below 128
// µs exactly, larger ones in 64 log-linear sub-buckets per power of two, so a
// percentile is reported within 1/64 (1.6 %) of the true value. Up to 2^40 µs
// (12 days) fits; larger values count in the last bucket. Record is lock-free
// and safe for concurrent use; the zero value is ready.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // µs
	max    atomic.Uint64 // µs
}

const (
	histExact   = 128 // values below are their own bucket
	histSub     = 64  // sub-buckets per power of two above
	histMaxBits = 40
	histBuckets = histExact + (histMaxBits-7)*histSub
)

func histIndex(v uint64) int {
	if v < histExact {
		return int(v)
	}
	e := bits.Len64(v) - 7 // v >> e is in [64, 128)
	i := histExact + (e-1)*histSub + int(v>>e) - histSub
	return min(i, histBuckets-1)
}

// histUpper returns the largest value that falls in bucket i.
func histUpper(i int) uint64 {
	if i < histExact {
		return uint64(i)
	}
	e := (i-histExact)/histSub + 1
	m := uint64((i-histExact)%histSub + histSub)
	return (m+1)<<e - 1
}

// Record adds d; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0) / time.Microsecond)
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max returns the largest value recorded, exactly (to the microsecond).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }

// Mean returns the mean of the values recorded.
func (h *Histogram) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load()/n) * time.Microsecond
}

// Quantile returns the value below or at which a fraction q (0 < q <= 1) of the
// values fall: the upper bound of the bucket holding the q-th value, capped at
// Max. It is 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n))) // nearest rank
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(min(histUpper(i), h.max.Load())) * time.Microsecond
		}
	}
	return h.Max()
}
