package httpapi

import (
	"bytes"
	"context"
	"net"
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
		ws, _, err := (&API{cfg: Config{WriteTimeout: d}}).accept(w, r, wsQuietBufferSize, false)
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

// writesConn records each write made to it.
type writesConn struct {
	net.Conn
	writes [][]byte
}

func (c *writesConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// Between begin and end, what the library writes (a header, a payload in
// parts) goes out in one write; outside, each write goes through at once;
// past maxGather, what was gathered goes out and the rest through.
func TestGatherConnWritesAMessageOnce(t *testing.T) {
	c := &writesConn{}
	g := &gatherConn{c: c}
	g.begin()
	for _, p := range []string{"\x81\x7e\x10\x00", strings.Repeat("a", 2000), strings.Repeat("b", 2096)} {
		if n, err := g.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("gathered write: %d, %v", n, err)
		}
	}
	if len(c.writes) != 0 {
		t.Fatalf("%d writes before end", len(c.writes))
	}
	if err := g.end(); err != nil {
		t.Fatal(err)
	}
	if len(c.writes) != 1 || len(c.writes[0]) != 4+4096 || c.writes[0][4] != 'a' || c.writes[0][4+4095] != 'b' {
		t.Fatalf("writes %d (first %d bytes), want the message in one", len(c.writes), len(c.writes[0]))
	}
	if _, err := g.Write([]byte("\x89\x00")); err != nil || len(c.writes) != 2 {
		t.Fatalf("a control frame outside a message was not written through: %d writes, %v", len(c.writes), err)
	}
	g.begin()
	_, _ = g.Write([]byte("head"))
	_, _ = g.Write(make([]byte, maxGather))
	if len(c.writes) != 4 || string(c.writes[2]) != "head" || len(c.writes[3]) != maxGather {
		t.Fatalf("past maxGather: %d writes, want the gathered then the rest", len(c.writes))
	}
	if err := g.end(); err != nil || len(c.writes) != 4 {
		t.Fatalf("end after a write through: %d writes, %v", len(c.writes), err)
	}
}

// A long message reaches the client whole through the gathering writer.
func TestWSWriteLongMessage(t *testing.T) {
	ws, c := wsPair(t, time.Second)
	c.SetReadLimit(1 << 20)
	for _, n := range []int{10, 600, 70 << 10} {
		msg := bytes.Repeat([]byte("y"), n)
		if err := ws.write(msg); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, got, err := c.Read(ctx)
		cancel()
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("message of %d bytes: got %d bytes, %v", n, len(got), err)
		}
	}
}
