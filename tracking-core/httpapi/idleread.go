package httpapi

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
)

// idleConn is the reading side of a hijacked WebSocket connection, under
// its bufio.Reader. Its wait lets the connection's reader goroutine sleep
// between messages on a shallow stack: an idle worker's goroutine parked
// deep in the websocket library's frame reader keeps a stack of 8 KB; one
// parked here needs about a quarter of that, and the garbage collector
// shrinks it.
//
// wait parks in the runtime's network poller (syscall.RawConn.Read) and,
// once the socket is readable, reads what is there into a pooled buffer
// that Read hands out first: the read the library would have made, made
// early, not a read more. No buffer is held while idle.
//
// Read follows the client's frames and hands out no byte past the end of
// the frame being read: once the library has read a frame, its buffer is
// empty, so wait need not look into it (which, with the library reading
// from another goroutine, as its close handshake does, would race).
type idleConn struct {
	net.Conn
	raw   syscall.RawConn // nil when the connection has none: wait returns at once
	ready func(fd uintptr) bool

	mu      sync.Mutex
	pending []byte  // read by wait (or sent with the upgrade request), not yet by Read
	stash   *[]byte // pending's pooled buffer, if it is one
	err     error   // what wait's read met instead of data, for Read
	fr      frameTracker

	// With frames, while the read loop is in the library (looping), Read
	// answers errIdle at a frame boundary with nothing pending instead of
	// waiting: the library's Reader then returns after the control frames
	// that came (a pong), and the loop waits again on its shallow stack.
	// For a connection whose client sends control frames only (a
	// manager's).
	frames  bool
	looping bool
}

// errIdle is Read's answer, in frames mode, when the library would wait
// for a frame that has not begun to arrive.
var errIdle = errors.New("websocket idle: no frame begun")

// frameTracker follows WebSocket frame boundaries in a byte stream read
// from a client (masked frames; RFC 6455 section 5.2).
type frameTracker struct {
	hdr  [14]byte // the current frame's header, as far as read
	n    int      // header bytes read of the current frame
	need int      // its header's length, once its second byte is read
	left int64    // payload bytes left of the current frame
}

func (f *frameTracker) atBoundary() bool { return f.n == 0 && f.left == 0 }

// room is how many bytes are left of the current frame's header or, once
// the header is read, its payload: none past them belong to this frame.
func (f *frameTracker) room() int {
	switch {
	case f.left > 0:
		return int(min(f.left, 1<<30))
	case f.n < 2:
		return 2 - f.n
	}
	return f.need - f.n
}

// span is how many of p's bytes, the next of the stream, belong to the
// current frame: up to its end, or all of p if its end is not in p.
func (f frameTracker) span(p []byte) int {
	i := 0
	for i < len(p) {
		k := min(f.room(), len(p)-i)
		f.advance(p[i : i+k])
		i += k
		if f.atBoundary() {
			break
		}
	}
	return i
}

// advance takes p, the next bytes of the stream.
func (f *frameTracker) advance(p []byte) {
	for len(p) > 0 {
		if f.left > 0 {
			k := min(int64(len(p)), f.left)
			f.left -= k
			p = p[k:]
			continue
		}
		f.hdr[f.n] = p[0]
		f.n++
		p = p[1:]
		if f.n == 2 {
			f.need = 2
			switch f.hdr[1] & 0x7f {
			case 126:
				f.need += 2
			case 127:
				f.need += 8
			}
			if f.hdr[1]&0x80 != 0 {
				f.need += 4
			}
		}
		if f.n >= 2 && f.n == f.need {
			f.left = int64(f.hdr[1] & 0x7f)
			switch f.left {
			case 126:
				f.left = int64(binary.BigEndian.Uint16(f.hdr[2:4]))
			case 127:
				f.left = int64(binary.BigEndian.Uint64(f.hdr[2:10]) &^ (1 << 63))
			}
			f.n, f.need = 0, 0
		}
	}
}

// loop marks the read loop's call into the library (true) and its return.
func (c *idleConn) loop(in bool) {
	c.mu.Lock()
	c.looping = in
	c.mu.Unlock()
}

// stashes are idleConn's read buffers, held only from a wake-up to the
// library's read.
var stashes = sync.Pool{New: func() any { b := make([]byte, 1024); return &b }}

func newIdleConn(c net.Conn) *idleConn {
	ic := &idleConn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			ic.raw = raw
		}
	}
	ic.ready = ic.readReady
	return ic
}

// Read serves what wait read first, up to the end of the current frame
// (see idleConn). With nothing pending it reads the connection as wait
// does (RawConn.Read into a pooled buffer), not around it: a reader that
// waits meanwhile (the read loop in wait, the library's close handshake in
// Read) finds what the other read, rather than one of them parking on a
// socket another has emptied.
func (c *idleConn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		if len(p) == 0 {
			c.mu.Unlock()
			return 0, nil
		}
		if len(c.pending) > 0 {
			q := p[:min(len(p), c.fr.span(c.pending))]
			n := copy(q, c.pending)
			c.fr.advance(q[:n])
			c.pending = c.pending[n:]
			if len(c.pending) == 0 {
				if c.stash != nil {
					stashes.Put(c.stash)
				}
				c.pending, c.stash = nil, nil
			}
			c.mu.Unlock()
			return n, nil
		}
		if err := c.err; err != nil {
			c.mu.Unlock()
			return 0, err
		}
		if c.frames && c.looping && c.raw != nil && c.fr.atBoundary() {
			c.mu.Unlock()
			return 0, errIdle
		}
		q := p[:min(len(p), c.fr.room())]
		c.mu.Unlock()
		if c.raw == nil {
			n, err := c.Conn.Read(q)
			c.mu.Lock()
			c.fr.advance(q[:n])
			c.mu.Unlock()
			return n, err
		}
		if err := c.raw.Read(c.ready); err != nil {
			return 0, err
		}
	}
}

// wait returns when the connection has something to read, or has failed
// or closed (the library's next read then says which). It returns at once
// when something is already read and not yet handed out. Called between
// messages, when the library's buffer is empty (see idleConn).
func (c *idleConn) wait() {
	if c.raw == nil {
		return
	}
	c.mu.Lock()
	has := len(c.pending) > 0 || c.err != nil
	c.mu.Unlock()
	if has {
		return
	}
	// An error (the connection closed under it) is the next Read's too.
	_ = c.raw.Read(c.ready)
}

// readReady is RawConn.Read's function: false (wait for the poller) while
// the socket has nothing; else it keeps what it read, or the error or end
// of stream it met, and says done.
func (c *idleConn) readReady(fd uintptr) bool {
	c.mu.Lock()
	has := len(c.pending) > 0 || c.err != nil // another reader's
	c.mu.Unlock()
	if has {
		return true
	}
	buf := stashes.Get().(*[]byte)
	for {
		n, err := syscall.Read(int(fd), *buf)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			stashes.Put(buf)
			return false
		}
		c.mu.Lock()
		switch {
		case n > 0:
			c.pending, c.stash = (*buf)[:n], buf
		case err != nil:
			c.err = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
			stashes.Put(buf)
		default:
			c.err = io.EOF
			stashes.Put(buf)
		}
		c.mu.Unlock()
		return true
	}
}
