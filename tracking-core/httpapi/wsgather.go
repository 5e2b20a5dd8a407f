package httpapi

import (
	"net"
	"sync"
)

// gatherConn is the writing side of a hijacked WebSocket connection, under
// the library's write buffer. While a wsWriter writes a message (between
// begin and end) it gathers what the library writes, the frame header and
// the payload, into a pooled buffer, and end writes that in one write;
// otherwise (the library's own frames: pings, pongs, the close handshake)
// it writes through.
//
// So the library's own buffer can be the least that holds a control
// frame (wsWriteBufferSize) rather than one that holds a message, which an
// idle connection would keep for its whole life, and a message of any
// length up to maxGather still goes out in a single write: with a 512-byte
// buffer, a longer message took two.
type gatherConn struct {
	c net.Conn

	mu  sync.Mutex
	on  bool
	buf *[]byte // gathered, from gatherBuffers; nil when empty
}

// maxGather is the most gathered for one write; past it, what is gathered
// is written and the rest written through.
const maxGather = 64 << 10

// gatherBuffers hold messages from a wsWriter's begin to its end.
var gatherBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func (g *gatherConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.on {
		return g.c.Write(p)
	}
	if g.buf == nil {
		g.buf = gatherBuffers.Get().(*[]byte)
	}
	if len(*g.buf)+len(p) > maxGather {
		if err := g.flush(); err != nil {
			return 0, err
		}
		return g.c.Write(p)
	}
	*g.buf = append(*g.buf, p...)
	return len(p), nil
}

// begin starts gathering.
func (g *gatherConn) begin() {
	g.mu.Lock()
	g.on = true
	g.mu.Unlock()
}

// end writes what was gathered and stops gathering.
func (g *gatherConn) end() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.on = false
	return g.flush()
}

// flush writes what is gathered and returns the buffer to the pool.
// Called with mu held.
func (g *gatherConn) flush() error {
	if g.buf == nil {
		return nil
	}
	b := g.buf
	g.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = g.c.Write(*b)
	}
	if cap(*b) <= maxGather {
		*b = (*b)[:0]
		gatherBuffers.Put(b)
	}
	return err
}
