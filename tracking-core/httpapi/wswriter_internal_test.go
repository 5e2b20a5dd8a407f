package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsPair is a server-side wsWriter (write timeout d) and the client's end.
func wsPair(t *testing.T, d time.Duration) (*wsWriter, *websocket.Conn) {
	t.Helper()
	got := make(chan *wsWriter, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, _, err := (&API{cfg: Config{WriteTimeout: d}}).accept(w, r, wsQuietBufferSize, wsBufferSize, false)
		if err != nil {
			t.Error(err)
			return
		}
		got <- ws
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	select {
	case ws := <-got:
		t.Cleanup(func() { _ = ws.conn.CloseNow() })
		return ws, c
	case <-ctx.Done():
		t.Fatal("no server connection")
		return nil, nil
	}
}

// A client that stops reading makes a write fail within the timeout once
// the socket's buffers are full, and the connection is closed: a frame
// may have been cut short.
func TestWSWriteTimeoutClosesTheConnection(t *testing.T) {
	ws, c := wsPair(t, 200*time.Millisecond)
	c.SetReadLimit(1 << 20)
	msg := bytes.Repeat([]byte("x"), 64<<10)
	failed := make(chan error, 1)
	go func() {
		for {
			if err := ws.write(msg); err != nil {
				failed <- err
				return
			}
		}
	}()
	select {
	case err := <-failed:
		t.Logf("write failed: %v", err)
	case <-time.After(20 * time.Second):
		_ = ws.conn.CloseNow()
		t.Fatal("writes to a client that does not read never failed")
	}
	if err := ws.write([]byte("after")); err == nil {
		t.Fatal("a write after a timed out one succeeded")
	}
	// The client, reading again, gets what was sent, then the end: the
	// server closed the connection rather than leave it open, unwritable.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if ctx.Err() != nil {
			t.Fatal("the connection was left open after a write timed out")
		}
		if err != nil {
			break
		}
	}
}

// A write's deadline is cleared once it is done: the library's own writes
// later (here the pong answering the client's ping, long after the
// timeout) are not cut off by it.
func TestWSWriteDeadlineDoesNotOutliveTheWrite(t *testing.T) {
	const d = 100 * time.Millisecond
	ws, c := wsPair(t, d)
	_ = ws.conn.CloseRead(context.Background()) // answers pings
	if err := ws.write([]byte(`{"type":"hello"}`)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { // the client reads, so that its Ping sees the pong
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	time.Sleep(3 * d)
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping after a write's deadline passed: %v", err)
	}
	if err := ws.write([]byte(`{"type":"again"}`)); err != nil {
		t.Fatalf("a write after the ping: %v", err)
	}
}
