package httpapi_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-core/testsupport/benchcpu"
)

// BenchmarkWorkerWSIngest is a replica's side of shape a's ingest: 100
// worker WebSockets sending records, one a message, each taken in,
// validated and published (memory broadcaster, nobody watching). The
// client side's writes run in the same process and are counted too, so
// compare runs of this benchmark with each other only.
func BenchmarkWorkerWSIngest(b *testing.B) {
	r := servicetest.StartReplica(b, memory.New(memory.NewBackend(), memory.Config{}), httpapi.Config{RecordsPerSecond: -1})
	const conns = 100
	workers := make([]*servicetest.Worker, conns)
	recs := make([][]byte, conns)
	for i := range workers {
		workers[i] = servicetest.MustDialWorker(b, r.WS+"/tracking/ws")
		recs[i] = servicetest.Rec("team_"+strconv.Itoa(i%10), "w"+strconv.Itoa(i), 1)
	}
	accepted := func() float64 { return testsupport.MetricSum(b, r.Registry, "tracking_records_total") }
	start := accepted()
	cpu := benchcpu.Start()
	b.ResetTimer()
	errs := make(chan error, conns)
	for i, w := range workers {
		go func() {
			var err error
			for n := i; n < b.N && err == nil; n += conns {
				err = w.Send(recs[i])
			}
			errs <- err
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for accepted()-start < float64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("%v of %d records taken", accepted()-start, b.N)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cpu.Report(b)
}
