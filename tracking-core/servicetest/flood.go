package servicetest

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/teamtrack/tracking-core/httpapi"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// flood: one worker sends as fast as it can; it gets rate_limited answers and
// is cut off (WebSocket closed with 1008, POST answered 429), while another
// worker's positions keep arriving.
func (s *scenarios) flood(t *testing.T) {
	const rate, burst = 50, 100
	a, b := s.pair(t, httpapi.Config{RecordsPerSecond: rate, RecordBurst: burst, HardRejectsPerSecond: 500})
	team := "team_flood"
	ts := time.Now()
	mgr := MustOpenSSE(t, b.URL+"/tracking/"+team)

	flooder := MustDialWorker(t, a.WS+"/tracking/ws")
	start := time.Now()
	floodDone := make(chan int)
	go func() { // reports to the test goroutine; never fails the test itself
		// Arrays of 50 records: each record counts against the limit, so the
		// flood outpaces the hard limit however slow this machine is.
		sent := 0
		for seq := 1; sent < 100_000; {
			batch := []byte{'['}
			for j := 0; j < 50; j++ {
				if j > 0 {
					batch = append(batch, ',')
				}
				batch = append(batch, RecAt(team, "flooder", seq, ts)...)
				seq++
			}
			if flooder.Send(append(batch, ']')) != nil {
				break // cut off by the server
			}
			sent += 50
		}
		floodDone <- sent
	}()

	normal := MustDialWorker(t, a.WS+"/tracking/ws")
	const n = 20
	for i := 1; i <= n; i++ {
		if err := normal.Send(RecAt(team, "steady", i, ts)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // a steady 20 positions/s, the pace under test
	}
	sent := <-floodDone
	elapsed := time.Since(start)

	select {
	case <-flooder.Done():
	case <-time.After(s.f.Timeout):
		t.Fatalf("flooder sent %d records in %s and is still connected", sent, elapsed)
	}
	if code := websocket.CloseStatus(flooder.Err()); code != websocket.StatusPolicyViolation {
		t.Fatalf("flooder's connection ended with %v (close status %d), want 1008 policy violation", flooder.Err(), code)
	}

	if !mgr.WaitFor(s.f.Timeout, HasAll(map[string]int{"steady": n})) {
		t.Fatalf("steady worker: latest %d of %d delivered beside the flood", Latest(mgr.Records())["steady"], n)
	}
	CheckOrdered(t, "steady worker", team, filterWorker(mgr.Records(), "steady"), 1, map[string]int{"steady": n})
	CheckContent(t, "flood team manager", mgr.Records(), ts)

	limited := 0
	for _, ans := range flooder.Messages() {
		if ans.Error.Code == "rate_limited" {
			limited++
		}
	}
	if limited == 0 {
		t.Fatalf("flooder sent %d records in %s and got no rate_limited answer", sent, elapsed)
	}
	delivered := len(filterWorker(mgr.Records(), "flooder"))
	if allowed := burst + int(rate*elapsed.Seconds()) + rate; delivered > allowed {
		t.Fatalf("flooder got %d records through in %s, the limit allows %d", delivered, elapsed, allowed)
	}
	t.Logf("flooder: %d sent, %d rate_limited answers, %d delivered, cut off; steady worker: all %d delivered", sent, limited, delivered, n)

	// The same flood as one POST: answered 429 with its summary, without the
	// rest of the body being read.
	var body bytes.Buffer
	const posted = 5000
	for i := 1; i <= posted; i++ {
		body.Write(RecAt(team, "poster", i, ts))
		body.WriteByte('\n')
	}
	sum, err := Post(a.URL+"/tracking", &body)
	var se *apiclient.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("flooding POST: %v, want 429", err)
	}
	if sum.Accepted > burst+rate || sum.Rejected == 0 || sum.Accepted+sum.Rejected >= posted || len(sum.Errors) == 0 || sum.Errors[0].Code != "rate_limited" {
		t.Fatalf("flooding POST summary %+v: want at most %d accepted, rate_limited rejections, the rest unread", sum, burst+rate)
	}
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
