package geofence

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The city of the benchmarks: 30 km × 30 km (about São Paulo's centre),
// fences of 50 m-2 km (cityFences), workers at random places in it.
const citySide = 30000.0

type benchWorker struct {
	st          WorkerState
	east, north float64
	t           time.Time
}

// BenchmarkEvaluate measures Evaluate per position. "walk": 1,000 workers,
// each fix 1.4 m from the worker's previous one (a walker at 1 Hz, or a
// fix of a 10 Hz stream), accuracy 5-20 m: events are rare, as in life.
// "jump": each fix at a new random place, the worst case (events on most
// fixes once fences are dense).
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{10, 1000, 50000} {
		ix := NewIndex(cityFences(n, citySide, 1))
		for _, mode := range []string{"walk", "jump"} {
			b.Run(fmt.Sprintf("fences=%d/%s", n, mode), func(b *testing.B) {
				e := newEval(b, Config{})
				rng := rand.New(rand.NewPCG(2, 3))
				workers := make([]benchWorker, 1000)
				fixes := make([]Fix, len(workers))
				for i := range workers {
					w := &workers[i]
					w.east, w.north = (rng.Float64()-0.5)*citySide, (rng.Float64()-0.5)*citySide
					w.t = t0
					e.Evaluate(ix, &w.st, fixAt(w.east, w.north, 10, w.t))
				}
				// Positions are computed outside the timed loop, a batch
				// at a time.
				next := func() {
					for i := range workers {
						w := &workers[i]
						if mode == "walk" {
							a := rng.Float64() * 2 * math.Pi
							w.east += 1.4 * math.Cos(a)
							w.north += 1.4 * math.Sin(a)
						} else {
							w.east, w.north = (rng.Float64()-0.5)*citySide, (rng.Float64()-0.5)*citySide
						}
						w.t = w.t.Add(time.Second)
						fixes[i] = fixAt(w.east, w.north, 5+rng.Float64()*15, w.t)
					}
				}
				next()
				events := 0
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					k := i % len(workers)
					if k == 0 && i > 0 {
						b.StopTimer()
						next()
						b.StartTimer()
					}
					events += len(e.Evaluate(ix, &workers[k].st, fixes[k]))
				}
				b.ReportMetric(float64(events)/float64(b.N), "events/op")
				inside := 0
				for i := range workers {
					inside += len(workers[i].st.Inside)
				}
				b.ReportMetric(float64(inside)/float64(len(workers)), "inside/worker")
			})
		}
	}
}

func BenchmarkNewIndex(b *testing.B) {
	for _, n := range []int{1000, 50000} {
		fences := cityFences(n, citySide, 1)
		b.Run(fmt.Sprintf("fences=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NewIndex(fences)
			}
		})
	}
}

func BenchmarkStateMarshal(b *testing.B) {
	st := WorkerState{Team: "team_one", Worker: "w-17", Last: t0, Lat: baseLat, Lon: baseLon, Seq: 12,
		Inside: []Presence{{FenceID: "f123", Since: t0.Add(-time.Minute), DwellAt: t0.Add(4 * time.Minute)}}}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = st.AppendBinary(buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

func BenchmarkEventAppendJSON(b *testing.B) {
	ev := newEvent(Enter, "team_one", "w-17", "depot", "Depot", baseLat, baseLon, t0)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = ev.AppendJSON(buf[:0])
	}
}
