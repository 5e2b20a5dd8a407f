package hub_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/testsupport/benchcpu"
	"github.com/teamtrack/tracking-core/wire"
)

// benchFanout publishes b.N positions spread over teams, each watched by
// perTeam queues, and reports deliveries (positions queued to a watcher) per
// second, and the CPU time per publish (what scripts/bench-compare.sh gates
// on). Queues are drained every few publishes, as writers would.
func benchFanout(b *testing.B, teams, perTeam int) {
	br := memory.New(memory.NewBackend(), memory.Config{})
	defer br.Close()
	h := hub.New(br, hub.Config{})
	defer h.Close()
	var queues []*hub.Queue
	for t := 0; t < teams; t++ {
		for m := 0; m < perTeam; m++ {
			q := hub.NewQueue(1024, 100000)
			leave, _, err := h.Watch(context.Background(), fmt.Sprintf("team%d", t), q, hub.Start{})
			if err != nil {
				b.Fatal(err)
			}
			defer leave()
			queues = append(queues, q)
		}
	}
	msgs := make([]tracking.Message, teams)
	for t := range msgs {
		p := tracking.Position{ID: "x", WorkerID: fmt.Sprintf("w%d", t), Team: fmt.Sprintf("team%d", t)}
		msgs[t] = wire.NewMessage(&p, time.Now())
	}
	var buf []tracking.Message
	drainEvery := max(64, 4*teams) // each queue gets a few positions per drain
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchcpu.Start()
	for i := 0; i < b.N; i++ {
		_ = br.Publish(context.Background(), msgs[i%teams])
		if i%drainEvery == drainEvery-1 {
			for _, q := range queues {
				buf, _, _ = q.Drain(buf[:0])
			}
		}
	}
	b.StopTimer()
	cpu.Report(b)
	deliveries := float64(b.N) * float64(perTeam)
	b.ReportMetric(deliveries/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
}

func BenchmarkFanout1Team1000Managers(b *testing.B) { benchFanout(b, 1, 1000) }
func BenchmarkFanout1000Teams1Manager(b *testing.B) { benchFanout(b, 1000, 1) }
