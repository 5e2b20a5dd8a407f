package httpapi

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/wire"
)

// handleSSE streams a team as Server-Sent Events: the snapshot (or, for a
// client that gives the id it had, the positions it missed), then live
// positions, one unnamed data event each with its stream id.
//
// Once the headers are out, an HTTP/1.x connection is taken from the
// server (hijacked) and the handler returns: the server's goroutine, its
// buffers and the request are let go. The response goes on chunked, as the
// server began it. An idle stream then costs a goroutine blocked in a
// one-byte read, which learns when the client goes (see managerStream for
// the rest). Where the connection cannot be taken (HTTP/2), the handler
// holds the stream as before.
func (a *API) handleSSE(w http.ResponseWriter, r *http.Request, claims *auth.Claims) {
	m := a.newManagerStream("manager_sse", claims)
	leave, started, err := a.watch(r.Context(), r.PathValue("team"), since(r), m.q)
	if err != nil {
		writeError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell proxies not to buffer
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		leave()
		return
	}
	rc := http.NewResponseController(w)
	s := &sseSink{timeout: a.cfg.WriteTimeout}
	if err := rc.Flush(); err != nil {
		leave()
		return
	}
	if c, _, err := rc.Hijack(); err == nil {
		// The server wrote the headers: chunked for HTTP/1.1, else the body
		// ends when the connection closes. What the client may send after
		// its request (nothing, for an EventSource) is not read.
		s.conn, s.chunked = c, r.ProtoAtLeast(1, 1)
	} else {
		s.w, s.rc = w, rc
	}
	m.close = s.close
	err = s.write(wire.AppendSSERetry(nil, a.cfg.RetryHint))
	if err == nil && started.Reset {
		err = s.reset(wire.ResetGap)
	}
	if err != nil {
		leave()
		s.close(true)
		return
	}
	if s.conn == nil {
		finished := make(chan struct{})
		stop := context.AfterFunc(r.Context(), func() { m.end("") })
		defer stop()
		m.begin(s, leave, 1, func() { close(finished) })
		<-finished
		return
	}
	a.streams.Add(1) // Shutdown waits for it as for the handler
	m.begin(s, leave, 2, a.streams.Done)
	go func() {
		defer m.done()
		// Nothing is expected from the client: the read ends when it
		// goes, or when the stream ends and closes the connection.
		b := make([]byte, 1)
		for {
			if _, err := s.conn.Read(b); err != nil {
				break
			}
		}
		m.end("")
	}()
}

// sseSink writes Server-Sent Events: to a connection taken from the server
// (conn), else through the server's ResponseWriter (w).
type sseSink struct {
	conn    net.Conn
	chunked bool // conn carries the rest of a chunked response
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// chunkRoom is kept before a frame for its chunk size line.
const chunkRoom = 18

func (s *sseSink) positions(batch []tracking.Message) error {
	return s.send(func(b []byte) []byte { return wire.AppendSSEPositions(b, batch) })
}

func (s *sseSink) heartbeat() error { return s.send(wire.AppendSSEHeartbeat) }

func (s *sseSink) reconnect(reason string) error {
	return s.send(func(b []byte) []byte { return wire.AppendSSEReconnect(b, reason) })
}

func (s *sseSink) reset(reason string) error {
	return s.send(func(b []byte) []byte { return wire.AppendSSEReset(b, reason) })
}

// write sends b as it is: one or more whole events.
func (s *sseSink) write(b []byte) error {
	return s.send(func(dst []byte) []byte { return append(dst, b...) })
}

// send writes what build appends, in a buffer of the pool.
func (s *sseSink) send(build func([]byte) []byte) error {
	buf := messageBuffers.Get().(*[]byte)
	b := build(append((*buf)[:0], make([]byte, chunkRoom)...))
	start := chunkRoom
	if s.chunked {
		var hdr [chunkRoom]byte
		h := append(strconv.AppendUint(hdr[:0], uint64(len(b)-chunkRoom), 16), '\r', '\n')
		start -= len(h)
		copy(b[start:], h)
		b = append(b, '\r', '\n')
	}
	err := s.writeRaw(b[start:])
	putMessageBuffer(buf, b)
	return err
}

func (s *sseSink) writeRaw(b []byte) error {
	deadline := time.Now().Add(s.timeout)
	if s.conn == nil {
		_ = s.rc.SetWriteDeadline(deadline)
		if _, err := s.w.Write(b); err != nil {
			return err
		}
		return s.rc.Flush()
	}
	_ = s.conn.SetWriteDeadline(deadline)
	_, err := s.conn.Write(b)
	return err
}

// close ends a taken connection: the last chunk, unless the client went,
// then the close. Through the server, the handler's return ends the
// response.
func (s *sseSink) close(gone bool) {
	if s.conn == nil {
		return
	}
	if s.chunked && !gone {
		_ = s.writeRaw([]byte("0\r\n\r\n"))
	}
	_ = s.conn.Close()
}
