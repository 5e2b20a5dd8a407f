package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("CONSUL_HTTP_ADDR", "")
	t.Setenv("TRACKING_REDIS_ADDRS", up.Listener.Addr().String())
	t.Setenv("SHUTDOWN_TIMEOUT", "300ms")
	t.Setenv("LOG_LEVEL", "error")
	setAuthEnv(t, map[string]string{"AUTH_MODE": "none"}) // about shutdown, not tokens: this stream has none

	done := make(chan error, 1)
	go func() { done <- run() }()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	res, err := client.Get("http://" + addr + "/tracking/redis/team_one")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: 1") {
		t.Fatalf("first event %q %v", line, err)
	}

	start := time.Now()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(br); err == nil {
		t.Log("stream ended cleanly") // acceptable: what matters is that it ended
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("the stream was cut after %v, before SHUTDOWN_TIMEOUT", d)
	}
	if _, err := client.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("still accepting after shutdown")
	}
}
