package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestGracefulShutdown runs the gateway, opens a stream through it, sends
// SIGTERM, and checks that the stream is cut after SHUTDOWN_TIMEOUT and that
// run returns cleanly.
func TestGracefulShutdown(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer up.Close()
	// About shutdown, not tokens: this stream has none.
	base, done := goRun(t, map[string]string{"AUTH_MODE": "none"}, map[string]string{
		"CONSUL_HTTP_ADDR": "", "TRACKING_REDIS_ADDRS": up.Listener.Addr().String(), "SHUTDOWN_TIMEOUT": "300ms",
	})
	client := waitUp(t, base, done)

	res, err := client.Get(base + "/tracking/redis/team_one")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: 1") {
		t.Fatalf("first event %q %v", line, err)
	}

	start := time.Now()
	sigterm(t)
	if _, err := io.ReadAll(br); err == nil {
		t.Log("stream ended cleanly") // acceptable: what matters is that it ended
	}
	if err := returned(t, done); err != nil {
		t.Fatalf("run: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("the stream was cut after %v, before SHUTDOWN_TIMEOUT", d)
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Error("still accepting after shutdown")
	}
}
