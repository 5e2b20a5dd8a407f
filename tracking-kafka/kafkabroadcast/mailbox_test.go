package kafkabroadcast_test

import (
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// BenchmarkMailbox measures Post on one replica to the Listen's handler on
// another, one payload (a 200-byte dispatch message) in flight at a time, on
// the real broker: the latency a worker's message sees (figure in doc.go).
func BenchmarkMailbox(b *testing.B) {
	cfg := testConfig(b)
	from, to := newReplica(b, cfg, nil), newReplica(b, cfg, nil)
	addr := tracking.Address{Team: "team_bench", Worker: "w1"}
	got := make(chan struct{}, 1)
	sub, err := to.Listen(b.Context(), addr, func([]byte) { got <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	payload := make([]byte, 200)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for b.Loop() {
		if err := from.Post(b.Context(), addr, payload); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(30 * time.Second):
			b.Fatal("mail not delivered within 30s")
		}
	}
}
