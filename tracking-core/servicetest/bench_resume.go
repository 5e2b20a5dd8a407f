package servicetest

import (
	"fmt"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/httpapi"
)

// BenchResume measures how long a manager's SSE stream takes to catch up
// after a cut: 5 s of a team sending 100 positions/s (10 workers at 10/s)
// are in the broker; each iteration reconnects with the Last-Event-ID from
// before them and reads until it has all 500. b's time per op is the
// catch-up, from the request to the last missed position.
func BenchResume(b *testing.B, newBroadcaster func() tracking.Broadcaster) {
	const team, workers, perWorker = "team_bench_resume", 10, 50
	r := StartReplica(b, newBroadcaster(), httpapi.Config{RecordsPerSecond: -1})
	pub := newBroadcaster()
	defer pub.Close()

	first, err := OpenSSE(r.URL + "/tracking/" + team)
	if err != nil {
		b.Fatal(err)
	}
	// The mark after the (empty) snapshot: where the manager was.
	if !waitNotified(10*time.Second, first.notify, first.done, func() bool { return first.LastID() != "" }) {
		b.Fatal("no stream id after the snapshot")
	}
	first.Close()
	from := first.LastID()

	start := time.Now().Add(-5 * time.Second)
	var msgs []tracking.Message
	for i := range perWorker {
		for w := range workers {
			fix := start.Add(time.Duration(i) * 100 * time.Millisecond)
			msgs = append(msgs, broadcasttest.MsgAt(team, fmt.Sprintf("w%d", w), i+1, fix, time.Now()))
		}
	}
	if err := broadcasttest.Publish(pub, msgs...); err != nil {
		b.Fatal(err)
	}
	n := workers * perWorker
	check, err := OpenSSEAfter(r.URL+"/tracking/"+team, from)
	if err != nil {
		b.Fatal(err)
	}
	ok := check.WaitFor(10*time.Second, func(recs []Record) bool { return len(recs) >= n })
	check.Close()
	if !ok {
		b.Fatalf("the resumed stream had %d of %d positions", len(check.Records()), n)
	}

	b.ResetTimer()
	for b.Loop() {
		st, err := OpenSSEAfter(r.URL+"/tracking/"+team, from)
		if err != nil {
			b.Fatal(err)
		}
		if !st.WaitFor(10*time.Second, func(recs []Record) bool { return len(recs) >= n }) {
			b.Fatalf("the resumed stream had %d of %d positions", len(st.Records()), n)
		}
		st.Close()
	}
	b.ReportMetric(float64(n), "positions/resume")
}
