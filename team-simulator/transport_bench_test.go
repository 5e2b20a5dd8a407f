package simulator

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkWorkerSend measures one worker's send path (walk, encode, write)
// over each transport against a server that discards what it reads
// (startDiscard). The allocations reported include the server's.
func BenchmarkWorkerSend(b *testing.B) {
	url, _ := startDiscard(b)
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		b.Run(string(tr), func(b *testing.B) {
			client := newHTTPClient()
			defer client.CloseIdleConnections()
			hard, cancel := context.WithCancel(context.Background())
			defer cancel()
			env := &runEnv{client: client, c: &counters{}, log: slog.New(slog.DiscardHandler), now: time.Now, hard: hard}
			c, err := dial(context.Background(), env, tr, url, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.close()
			w := newWalker(Movement{}.withDefaults(), 1, 0)
			rec := newRecord("load-t001-w00042", "load-t001", "k3x9a")
			b.ReportAllocs()
			var seq uint64
			for b.Loop() {
				w.step(0.1)
				seq++
				if err := c.send(rec.build(w, seq, time.Now(), tr == TransportNDJSON)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
