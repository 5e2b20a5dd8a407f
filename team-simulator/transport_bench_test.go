package simulator

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkWorkerSend measures one worker's send path (walk, encode, write)
// over each transport against a server that discards what it reads. The
// allocations reported include the server's.
func BenchmarkWorkerSend(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tracking/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, rd, err := c.Reader(context.Background())
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, rd)
		}
	})
	mux.HandleFunc("POST /tracking/{$}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{"accepted":0,"rejected":0}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tr := range []Transport{TransportWebSocket, TransportNDJSON} {
		b.Run(string(tr), func(b *testing.B) {
			client := newHTTPClient()
			defer client.CloseIdleConnections()
			hard, cancel := context.WithCancel(context.Background())
			defer cancel()
			env := &runEnv{client: client, c: &counters{}, log: slog.New(slog.DiscardHandler), now: time.Now, hard: hard}
			c, err := dial(context.Background(), env, tr, srv.URL+"/tracking/", nil)
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
