package simulator

import (
	"testing"
	"time"
)

// blockedConn is a connection whose send blocks until it is aborted.
type blockedConn struct{ aborted chan struct{} }

func (b *blockedConn) send([]byte) error     { <-b.aborted; return errStreamClosed }
func (b *blockedConn) done() <-chan struct{} { return b.aborted }
func (b *blockedConn) err() error            { return errStreamClosed }
func (b *blockedConn) close()                {}
func (b *blockedConn) abort()                { close(b.aborted) }

// A write blocked past the timeout has its connection cut, once; a write in
// time, or no write, is left alone.
func TestSendGuardCutsStalledWrites(t *testing.T) {
	var g sendGuard
	c := &blockedConn{aborted: make(chan struct{})}
	g.attach(c)
	now := time.Now()
	g.check(now.UnixNano()) // no write in progress
	g.begin(now.Add(-5 * time.Second))
	g.check(now.Add(-10 * time.Second).UnixNano()) // blocked 5s of 10s allowed
	select {
	case <-c.aborted:
		t.Fatal("a write within its deadline was cut")
	default:
	}
	sent := make(chan error)
	go func() { sent <- c.send(nil) }()
	g.begin(now.Add(-11 * time.Second))
	g.check(now.Add(-10 * time.Second).UnixNano())
	g.check(now.Add(-10 * time.Second).UnixNano()) // a second check does not abort twice
	if err := <-sent; err == nil {
		t.Fatal("blocked send not released")
	}
	g.end()
	if !g.detach() {
		t.Fatal("detach does not report the stall")
	}
}
