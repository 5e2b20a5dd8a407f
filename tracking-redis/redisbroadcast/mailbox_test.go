package redisbroadcast_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-redis/redisbroadcast"
)

// BenchmarkMailbox measures Post on one Broadcaster to the Listen's handler
// on another, one payload (a 200-byte dispatch message) in flight at a time,
// on the real redis-server: the latency a worker's message sees. The figure
// is quoted in mailbox.go.
func BenchmarkMailbox(b *testing.B) {
	addr := testsupport.Env(b, "TEST_REDIS_ADDR", "start redis with scripts/test-services.sh up redis and source its env file")
	p := fmt.Sprintf("Tbenchmail_%d_", rand.Uint32())
	var r [2]*redisbroadcast.Broadcaster
	for i := range r {
		var err error
		if r[i], err = redisbroadcast.New(redisbroadcast.Config{Addr: addr, ChannelPrefix: p}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = r[i].Close() })
	}
	to := tracking.Address{Team: "team_bench", Worker: "w1"}
	got := make(chan struct{}, 1)
	sub, err := r[1].Listen(b.Context(), to, func([]byte) { got <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	payload := make([]byte, 200)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for b.Loop() {
		if err := r[0].Post(b.Context(), to, payload); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("mail not delivered within 10s")
		}
	}
}
