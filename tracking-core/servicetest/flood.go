package servicetest

import (
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/httpapi"
)

// flood: one worker sends as fast as it can; it gets rate_limited answers and
// is cut off, while another worker's positions keep arriving.
func (s *scenarios) flood(t *testing.T) {
	const rate, burst = 50, 100
	a, b := s.pair(t, httpapi.Config{RecordsPerSecond: rate, RecordBurst: burst, HardRejectsPerSecond: 500})
	team := "team_flood"
	mgr, err := OpenSSE(b.URL + "/tracking/" + team)
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()

	flooder, err := DialWorker(a.WS + "/tracking/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	start := time.Now()
	floodDone := make(chan int)
	go func() {
		sent := 0
		for i := 1; i <= 5000; i++ {
			if flooder.Send(Rec(team, "flooder", i)) != nil {
				break // cut off by the server
			}
			sent++
		}
		floodDone <- sent
	}()

	normal, err := DialWorker(a.WS + "/tracking/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer normal.Close()
	const n = 20
	for i := 1; i <= n; i++ {
		if err := normal.Send(Rec(team, "steady", i)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // a steady 20 positions/s, the pace under test
	}
	sent := <-floodDone
	elapsed := time.Since(start)

	if !mgr.WaitFor(s.f.Timeout, hasAll(map[string]int{"steady": n})) {
		t.Fatalf("steady worker: latest %d of %d delivered beside the flood", latest(mgr.Records())["steady"], n)
	}
	CheckOrdered(t, "steady worker", team, filterWorker(mgr.Records(), "steady"), 1, map[string]int{"steady": n})

	limited := 0
	for _, ans := range flooder.Answers() {
		if ans["code"] == "rate_limited" {
			limited++
		}
	}
	if limited == 0 {
		t.Fatalf("flooder sent %d records in %s and got no rate_limited answer", sent, elapsed)
	}
	delivered := 0
	for _, r := range mgr.Records() {
		if r.WorkerID == "flooder" {
			delivered++
		}
	}
	if allowed := burst + int(rate*elapsed.Seconds()) + rate; delivered > allowed {
		t.Fatalf("flooder got %d records through in %s, the limit allows %d", delivered, elapsed, allowed)
	}
	t.Logf("flooder: %d sent, %d rate_limited answers, %d delivered; steady worker: all %d delivered", sent, limited, delivered, n)
}

func filterWorker(recs []Record, worker string) []Record {
	var out []Record
	for _, r := range recs {
		if r.WorkerID == worker {
			out = append(out, r)
		}
	}
	return out
}
