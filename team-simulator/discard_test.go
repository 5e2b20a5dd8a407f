package simulator

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
)

// startDiscard serves worker connections that read what they are sent and
// drop it: a baseline for BenchmarkWorkerSend, and the one place that sees
// how a client closed its WebSocket, which the real service does not tell.
// It returns the API's base URL and the count of WebSockets closed with 1000.
func startDiscard(tb testing.TB) (string, *atomic.Int64) {
	clean := new(atomic.Int64)
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
				if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
					clean.Add(1)
				}
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
	tb.Cleanup(srv.Close)
	return srv.URL + "/tracking/", clean
}
