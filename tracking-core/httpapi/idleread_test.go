package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair is a connected loopback TCP pair (server side, client side).
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func returns(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

// wait sleeps until there is something to read, and what it read comes out
// of Read first, in order, however large: bytes sent with the upgrade, then
// what wait read (more than a stash), then the connection; then the end.
func TestIdleConnWaitAndRead(t *testing.T) {
	server, client := tcpPair(t)
	ic := newIdleConn(server)
	if ic.raw == nil {
		t.Fatal("a TCP connection without a RawConn")
	}
	ic.pending = []byte("early:")
	br := bufio.NewReaderSize(ic, 16)
	returns(t, "wait with bytes pending", ic.wait)

	head := make([]byte, 6)
	if _, err := io.ReadFull(br, head); err != nil || string(head) != "early:" {
		t.Fatalf("%q %v", head, err)
	}
	woke := make(chan struct{})
	go func() { ic.wait(); close(woke) }()
	select {
	case <-woke:
		t.Fatal("wait returned with nothing to read")
	case <-time.After(50 * time.Millisecond):
	}
	big := bytes.Repeat([]byte("0123456789"), 300) // 3,000 bytes: more than a stash
	if _, err := client.Write(big); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not return when data came")
	}
	if len(ic.pending) == 0 || ic.stash == nil {
		t.Fatal("wait read nothing")
	}
	client.Close()
	got, err := io.ReadAll(br)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read %d bytes (%v), want the %d sent", len(got), err, len(big))
	}
	// At the end of the stream wait returns and Read says EOF.
	returns(t, "wait at the end", ic.wait)
	if n, err := ic.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("%d %v, want EOF", n, err)
	}
}

// A connection closed under a waiting reader wakes it; the next read fails.
func TestIdleConnWaitEndsOnClose(t *testing.T) {
	server, _ := tcpPair(t)
	ic := newIdleConn(server)
	go func() {
		time.Sleep(50 * time.Millisecond)
		server.Close()
	}()
	returns(t, "wait on a closed connection", ic.wait)
	if _, err := ic.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// A read while the read loop waits (the library's close handshake, from
// another goroutine) gets what arrives, whichever of the two read it from
// the socket; the wait ends when the connection does.
func TestIdleConnReadWhileWaiting(t *testing.T) {
	server, client := tcpPair(t)
	ic := newIdleConn(server)
	waited := make(chan struct{})
	go func() { ic.wait(); close(waited) }()
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 5)
		_, err := io.ReadFull(ic, b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	}()
	time.Sleep(50 * time.Millisecond) // both parked (nothing to read yet)
	if _, err := client.Write([]byte("close")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "close" {
			t.Fatalf("read %q, want close", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read did not get what arrived while the loop waited")
	}
	// The loop's wait goes on (the other read took the data) until the
	// connection closes, as after a close handshake.
	server.Close()
	returns(t, "wait", func() { <-waited })
}

// The frame tracker is at a boundary exactly between frames, however the
// bytes come: one at a time or in chunks, with 7-bit, 16-bit and 64-bit
// payload lengths, masked or not.
func TestFrameTracker(t *testing.T) {
	frame := func(payload int, masked bool) []byte {
		b := []byte{0x8a}
		m := byte(0)
		if masked {
			m = 0x80
		}
		switch {
		case payload < 126:
			b = append(b, m|byte(payload))
		case payload <= 0xffff:
			b = append(b, m|126, byte(payload>>8), byte(payload))
		default:
			b = append(b, m|127, 0, 0, 0, 0, byte(payload>>24), byte(payload>>16), byte(payload>>8), byte(payload))
		}
		if masked {
			b = append(b, 1, 2, 3, 4)
		}
		return append(b, bytes.Repeat([]byte{'x'}, payload)...)
	}
	frames := [][]byte{frame(0, true), frame(5, true), frame(125, true), frame(126, true), frame(300, false), frame(70000, true), frame(3, false)}
	for _, chunk := range []int{1, 3, 7, 4096} {
		var f frameTracker
		for i, fr := range frames {
			for off := 0; off < len(fr); off += chunk {
				if off > 0 && f.atBoundary() {
					t.Fatalf("chunk %d, frame %d: a boundary %d bytes into the frame", chunk, i, off)
				}
				f.advance(fr[off:min(off+chunk, len(fr))])
			}
			if !f.atBoundary() {
				t.Fatalf("chunk %d: not at a boundary after frame %d", chunk, i)
			}
		}
	}
}

// Read hands out no byte past the end of the frame being read, whatever
// is pending and however large the caller's buffer: once the library has
// read a frame its buffer is empty, and wait need not look into it.
func TestIdleConnReadStopsAtFrameEnds(t *testing.T) {
	server, _ := tcpPair(t)
	ic := newIdleConn(server)
	text := append([]byte{0x81, 0x80 | 2, 1, 2, 3, 4}, 'h', 'i')
	ping := []byte{0x89, 0x80, 1, 2, 3, 4}
	long := append([]byte{0x81, 0x80 | 126, 0x01, 0x00, 1, 2, 3, 4}, bytes.Repeat([]byte("x"), 256)...)
	ic.pending = bytes.Join([][]byte{text, ping, long, text[:3]}, nil)
	buf := make([]byte, 1024)
	for i, want := range [][]byte{text, ping, long, text[:3]} {
		n, err := ic.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Fatalf("read %d: %d bytes (%v), want the %d of frame %d", i, n, err, len(want), i)
		}
	}
	// The rest of a frame begun: only what is left of it.
	ic.pending = append(text[3:], ping...)
	if n, _ := ic.Read(buf); n != len(text)-3 {
		t.Fatalf("read %d bytes, want the %d left of the frame", n, len(text)-3)
	}
}
