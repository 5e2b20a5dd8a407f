package proximity

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/geofence"
)

// BenchmarkObserve: n workers walking in a 5 km × 5 km area (accuracy
// 5-20 m, a fix 1.4 m from the last), one alone rule for everyone (100 m,
// 5 min) and an apart rule for 50 pairs (300 m, 2 min).
func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			rules := []Rule{{ID: "lone", Kind: geofence.Alone, Distance: 100, For: 5 * time.Minute}}
			for i := range 50 {
				rules = append(rules, Rule{ID: fmt.Sprintf("pair%d", i), Kind: geofence.Apart,
					Workers: []string{fmt.Sprintf("w%d", 2*i), fmt.Sprintf("w%d", 2*i+1)}, Distance: 300, For: 2 * time.Minute})
			}
			e, err := NewEngine("team_one", rules, Config{})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			type walker struct{ x, y float64 }
			ws := make([]walker, n)
			ids := make([]string, n)
			fixes := make([]geofence.Fix, n)
			tm := t0
			next := func() {
				tm = tm.Add(time.Second)
				for i := range ws {
					a := rng.Float64() * 2 * math.Pi
					ws[i].x += 1.4 * math.Cos(a)
					ws[i].y += 1.4 * math.Sin(a)
					fixes[i] = geofence.Fix{Team: "team_one", Worker: ids[i],
						Lat: baseLat + ws[i].y/110574, Lon: baseLon + ws[i].x/(111320*math.Cos(baseLat*math.Pi/180)),
						Accuracy: 5 + 15*rng.Float64(), Time: tm}
				}
			}
			for i := range ws {
				ws[i] = walker{(rng.Float64() - 0.5) * 5000, (rng.Float64() - 0.5) * 5000}
				ids[i] = fmt.Sprintf("w%d", i)
			}
			next()
			for i := range fixes {
				e.Observe(fixes[i])
			}
			next()
			events := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % n
				if k == 0 && i > 0 {
					b.StopTimer()
					next()
					b.StartTimer()
				}
				events += len(e.Observe(fixes[k]))
			}
			b.ReportMetric(float64(events)/float64(b.N), "events/op")
		})
	}
}
