package gateway

import (
	"net"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
)

// An upload (a worker's streaming POST) whose upstream dies must end for the
// client too. http.Transport cannot tell it: the upstream answers a POST
// only once its body ends, and a transport whose connection died waits for
// its body writer, blocked in reading the client's next record, before it
// fails the request. So the gateway watches the upstream connection itself,
// and when it dies, cuts the read of the client's body (a read deadline):
// the request fails and the client gets its 502 while still sending.

// watchedConn is an upstream connection that tells when it is dead: a read
// failed (the upstream closed or reset it) or it was closed.
type watchedConn struct {
	net.Conn
	once sync.Once
	dead chan struct{}
}

func newWatchedConn(c net.Conn) *watchedConn { return &watchedConn{Conn: c, dead: make(chan struct{})} }

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.markDead()
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.markDead()
	return c.Conn.Close()
}

func (c *watchedConn) markDead() { c.once.Do(func() { close(c.dead) }) }

// uploadWatch ends an exchange's upload when its upstream connection dies.
type uploadWatch struct {
	abort func() // cuts the read of the client's body
	// cut is set once the upload was cut: the request's context ends then
	// too (net/http cancels it on the read error), which is not the client
	// leaving.
	cut atomic.Bool
	// answered is set when the upstream's answer starts: a connection that
	// dies after that is the end of its answer (an early refusal with
	// Connection: close), which the proxy copies as it is.
	answered atomic.Bool
	once     sync.Once
	done     chan struct{}
	wg       sync.WaitGroup
}

func newUploadWatch(abort func()) *uploadWatch {
	return &uploadWatch{abort: abort, done: make(chan struct{})}
}

// trace returns the hook that learns the upstream connection of an attempt.
// Connections that are not a watchedConn (a Config.Transport of the
// caller's) are not watched.
func (u *uploadWatch) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			wc, ok := info.Conn.(*watchedConn)
			if !ok {
				return
			}
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				select {
				case <-wc.dead:
					// answered is set by the transport's read loop before
					// it reads on: before any read that marks wc dead.
					if !u.answered.Load() {
						u.cut.Store(true)
						u.abort()
					}
				case <-u.done:
				}
			}()
		},
		GotFirstResponseByte: func() { u.answered.Store(true) },
	}
}

// stop ends the watch and waits for it: call it before the handler returns,
// after which the client's connection must not be touched.
func (u *uploadWatch) stop() {
	u.once.Do(func() { close(u.done) })
	u.wg.Wait()
}
