package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/wire"
)

// wsReadLimit is the largest WebSocket message read at all; messages between
// MaxRecordSize and it are answered with too_large, larger ones close the
// connection (the protocol gives no cheaper way to skip them).
const wsReadLimit = 4 << 20

// closeGrace is how long a worker told to reconnect may keep sending before
// the server closes the connection itself.
const closeGrace = 5 * time.Second

// accept upgrades to a WebSocket whose read buffer is readSize bytes
// (wsWorkerReadSize for a client that sends records, wsQuietBufferSize for
// one that sends only control frames). With waits, the library reads
// through the returned idleConn, whose wait the read loop calls between
// messages; else idleConn is nil (a reader parked in the library for the
// connection's life gains nothing from it, and its stack one frame more).
func (a *API) accept(w http.ResponseWriter, r *http.Request, readSize int, waits bool) (*wsWriter, *idleConn, error) {
	sb := &smallBuffers{ResponseWriter: w, readSize: readSize, waits: waits}
	conn, err := websocket.Accept(sb, r, &websocket.AcceptOptions{OriginPatterns: a.cfg.AllowedOrigins})
	if err != nil {
		return nil, nil, err
	}
	return &wsWriter{conn: conn, g: sb.gather, timeout: a.cfg.WriteTimeout}, sb.idle, nil
}

// wsWriter writes whole messages to a WebSocket, each within timeout and
// in one write (see gatherConn). The timeout is the network connection's
// write deadline, not a context's: the library keeps the context of a
// message until the next one (a context with a deadline holds a timer
// and a channel), for every idle connection, and arms a callback for
// each. A write that fails (its deadline passed) closes the connection,
// as the library does when a write's context ends: a frame may have been
// cut short.
type wsWriter struct {
	conn    *websocket.Conn
	g       *gatherConn
	timeout time.Duration
	mu      sync.Mutex // one deadline at a time: set, write, cleared
}

func (w *wsWriter) write(msg []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.g.c.SetWriteDeadline(time.Now().Add(w.timeout))
	if err == nil {
		w.g.begin()
		err = w.conn.Write(context.Background(), websocket.MessageText, msg)
		if ferr := w.g.end(); err == nil {
			err = ferr
		}
	}
	if err != nil {
		_ = w.conn.CloseNow()
		return err
	}
	// The library's own writes (a pong, the close handshake) meet no
	// deadline of ours.
	return w.g.c.SetWriteDeadline(time.Time{})
}

// send writes msg, for a message whose failure the connection's reader
// finds soon enough (the write closes the connection).
func (w *wsWriter) send(msg []byte) { _ = w.write(msg) }

// handleWorkerWS reads records, one per text message or a JSON array of them.
// Bad records are answered with an error message; the connection stays.
//
// Once upgraded, the connection is served by a goroutine of its own and
// the handler returns: the HTTP server's goroutine, its deep stack, the
// request and its buffers are let go, and an idle worker costs that one
// goroutine blocked in a read (see smallBuffers for the rest).
func (a *API) handleWorkerWS(w http.ResponseWriter, r *http.Request, claims *auth.Claims) {
	// The worker's session starts before the upgrade answers, so that a
	// connection the client sees open is already the worker's newest one.
	var ws *wsWriter
	upgraded := make(chan struct{})
	// Lifetime and drain are told from the side: the hint and the close frame
	// are written concurrently with the read loop, which then ends.
	var endedBy atomic.Value // why the server ended the connection, if it did
	done := a.worker("worker_ws", claims, false, func(ctx context.Context, why string) {
		endedBy.Store(why)
		select {
		case <-upgraded:
		case <-ctx.Done():
			return
		}
		a.m.reconnects.WithLabelValues(why).Inc()
		ws.send(wire.AppendReconnect(nil, why))
		// Keep reading while the worker winds down: records it sent before it
		// saw the hint are still published. Close only if it does not go.
		grace := time.NewTimer(closeGrace)
		defer grace.Stop()
		select {
		case <-ctx.Done():
			return
		case <-grace.C:
		}
		_ = ws.conn.Close(websocket.StatusServiceRestart, why)
	})
	ws, idle, err := a.accept(w, r, wsWorkerReadSize, true)
	if err != nil {
		done()
		return // Accept has answered
	}
	close(upgraded)
	ws.conn.SetReadLimit(wsReadLimit)
	// What the connection needs is set up here, on the HTTP server's
	// goroutine, rather than on the connection's: any call that waits
	// (a lock many connections take at once) grows a goroutine's stack,
	// and the connection's would keep that for good.
	leave := a.quiet.join()
	in := a.ingestor("ws", claims)
	in.mail = a.newWorkerMail(ws.write)
	if claims != nil && claims.Role == auth.RoleWorker && len(claims.Teams) == 1 {
		// A phone's token names it: its messages and advice start now,
		// not with its first position.
		in.mail.seen(claims.Teams[0], claims.WorkerID)
	}
	a.streams.Add(1) // Shutdown waits for it as for the handler
	go func() {
		defer a.streams.Done()
		defer done()
		defer ws.conn.CloseNow()
		defer leave()
		defer func() {
			why, _ := endedBy.Load().(string)
			in.presence.End(presenceReason(why, in.over))
			in.end()
		}()
		defer a.recoverConn("worker_ws")
		a.serveWorkerWS(ws, idle, in)
	}()
}

// serveWorkerWS is the read loop of a worker's WebSocket. Between
// messages it waits on idle's shallow stack.
func (a *API) serveWorkerWS(ws *wsWriter, idle *idleConn, in *ingestor) {
	// Between messages of a quiet connection (not two in a row within
	// busyWithin) the goroutine waits in idle.wait, called from this small
	// frame, and one of the replica's quiet handlers handles the message
	// that came (see quietHandlers): the goroutine never runs deeper than
	// that, and keeps the smallest stack for the connection's life. A busy
	// one reads and handles its messages itself, waiting in the library's
	// read between them: no handoff for each message, no read made early.
	var prev, last time.Time // the last two messages' arrivals
	var job *quietJob
	for {
		var ok bool
		if last.Sub(prev) >= busyWithin || time.Since(last) >= busyWithin {
			idle.wait()
			if job == nil {
				job = &quietJob{ws: ws, in: in, done: make(chan bool, 1)}
			}
			ok = a.quiet.run(job)
		} else {
			ok = a.workerMessage(ws, in)
		}
		if !ok {
			return
		}
		prev, last = last, time.Now()
	}
}

// busyWithin: a worker connection whose last two messages came within this
// of each other, the last within this of now, is busy (serveWorkerWS).
const busyWithin = time.Second

// workerMessage reads and handles a worker's next message; false when the
// connection is done.
//
// A context that is never done spares the websocket library a
// context.AfterFunc per message; the read ends when the connection closes
// (client gone, lifetime or drain close it). The message buffer is the
// pool's only while a message is handled.
//
//go:noinline
func (a *API) workerMessage(ws *wsWriter, in *ingestor) bool {
	ctx := context.Background()
	typ, rd, err := ws.conn.Reader(ctx)
	if err != nil {
		return false
	}
	buf := messageBuffers.Get().(*[]byte)
	msg, err := a.readMessage(typ, rd, (*buf)[:0])
	if err != nil {
		putMessageBuffer(buf, msg)
		var te *tracking.Error
		if errors.As(err, &te) {
			in.reject(err)
			ws.send(errorMessage(err, ""))
			return true
		}
		return false
	}
	a.ingestMessage(ctx, ws, in, msg)
	putMessageBuffer(buf, msg)
	if in.over {
		_ = ws.conn.Close(websocket.StatusPolicyViolation, "rate limit exceeded")
		return false
	}
	return true
}

// messageBuffers hold worker messages while they are read and handled.
var messageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// putMessageBuffer returns a buffer (grown to msg, if it was) to the pool,
// unless it grew past what is worth keeping.
func putMessageBuffer(buf *[]byte, msg []byte) {
	if cap(msg) > 64<<10 {
		return
	}
	*buf = msg[:0]
	messageBuffers.Put(buf)
}

// recoverConn logs a panic of a connection's own goroutine (the HTTP
// server's recovery does not reach it) instead of ending the process.
func (a *API) recoverConn(kind string) {
	if v := recover(); v != nil {
		a.logPanic(kind, v)
	}
}

// logPanic logs panic v of a connection's goroutine, with its stack.
func (a *API) logPanic(kind string, v any) {
	a.log.Error("panic serving a connection", "kind", kind, "panic", v, "stack", string(debug.Stack()))
}

// smallBuffers hands the websocket library, at the upgrade, a connection
// with a small read buffer (readSize) and write buffer (see gatherConn) instead
// of the HTTP server's 4 KB each, which an idle connection would hold for
// its whole life. Records are a few hundred bytes; larger reads and
// writes go straight to the socket.
type smallBuffers struct {
	http.ResponseWriter
	readSize int
	waits    bool        // read through an idleConn
	idle     *idleConn   // that connection, once hijacked
	gather   *gatherConn // its writing side
}

const (
	// wsWriteBufferSize is the library's write buffer on every
	// WebSocket: a control frame fits (a ping's header and the few
	// bytes of its payload); messages are gathered past it (gatherConn).
	wsWriteBufferSize = 32
	// wsWorkerReadSize is the read buffer of a worker's WebSocket: between
	// messages its idleConn reads what came into a pooled buffer, which
	// the library then reads from; this one holds frame headers only
	// (bufio's least), payloads are read past it.
	wsWorkerReadSize = 16
	// wsQuietBufferSize is the read buffer of a manager's WebSocket: its
	// client sends only pongs and a close (a frame header and at most 125
	// bytes).
	wsQuietBufferSize = 64
)

func (s *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	s.gather = &gatherConn{c: c}
	n := brw.Reader.Buffered()
	var early []byte
	if n > 0 {
		b, _ := brw.Peek(n)
		early = bytes.Clone(b)
	}
	if !s.waits {
		// What the client sent after its request (if anything) moves into
		// the new read buffer, where the library looks for it.
		var rd io.Reader = c
		if n > 0 {
			rd = io.MultiReader(bytes.NewReader(early), c)
		}
		br := bufio.NewReaderSize(rd, max(s.readSize, n))
		if n > 0 {
			if _, err := br.Peek(n); err != nil {
				_ = c.Close()
				return nil, nil, err
			}
		}
		return c, bufio.NewReadWriter(br, bufio.NewWriterSize(s.gather, wsWriteBufferSize)), nil
	}
	// What the client sent after its request (if anything) is read first
	// from the idleConn, which is what the library reads from (it moves
	// what is buffered here in front of the connection returned).
	s.idle = newIdleConn(c)
	s.idle.pending = early
	return s.idle, bufio.NewReadWriter(bufio.NewReaderSize(s.idle, s.readSize), bufio.NewWriterSize(s.gather, wsWriteBufferSize)), nil
}

// presenceReason is why a worker connection's session ended, from the
// reconnect hint the server gave (if any) and whether it was closed for
// flooding.
func presenceReason(hint string, flooded bool) string {
	switch {
	case flooded:
		return wire.StatusRateLimited
	case hint == wire.ReasonReplaced:
		return wire.StatusReplaced
	case hint == wire.ReasonTokenExpired:
		return wire.StatusTokenExpired
	}
	return wire.StatusDisconnected
}

// readMessage reads one message from rd into buf; a too large one is
// skipped and reported as a *tracking.Error.
func (a *API) readMessage(typ websocket.MessageType, rd io.Reader, buf []byte) ([]byte, error) {
	limit := a.cfg.MaxRecordSize
	// Read up to limit+1 bytes into buf, growing it (no reader or buffer
	// allocated a message).
	for len(buf) <= limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(cap(buf), 512), limit+1-len(buf)))
		}
		n, err := rd.Read(buf[len(buf):min(cap(buf), limit+1)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	if len(buf) > limit {
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return buf, err
		}
		return buf, tracking.Errorf(tracking.CodeTooLarge, "message larger than %d bytes", limit)
	}
	if typ != websocket.MessageText {
		return buf, tracking.Errorf(tracking.CodeInvalidJSON, "binary messages are not accepted; send JSON text")
	}
	return buf, nil
}

// ingestMessage publishes a record or an array of records, or takes a
// reply to a dispatch message.
func (a *API) ingestMessage(ctx context.Context, ws *wsWriter, in *ingestor, msg []byte) {
	msg = bytes.TrimSpace(msg)
	if r, ok := wire.DecodeWorkerReply(msg); ok {
		a.workerReply(ws, in, r)
		return
	}
	if len(msg) > 0 && msg[0] == '[' {
		var recs []json.RawMessage
		if err := json.Unmarshal(msg, &recs); err != nil {
			err = tracking.Errorf(tracking.CodeInvalidJSON, "malformed JSON array of records")
			in.reject(err)
			ws.send(errorMessage(err, ""))
			return
		}
		for _, rec := range recs {
			if id, err := in.accept(ctx, rec); err != nil {
				ws.send(errorMessage(err, id))
			}
		}
		return
	}
	if id, err := in.accept(ctx, msg); err != nil {
		ws.send(errorMessage(err, id))
	}
}

// workerReply records an ack or read receipt; a bad one is answered with
// an error naming the message id.
func (a *API) workerReply(ws *wsWriter, in *ingestor, r wire.WorkerReply) {
	typ := r.Type
	if typ != wire.TypeAck && typ != wire.TypeRead {
		typ = "other" // a label per type a client invents would grow without bound
	}
	err, over := in.limit.take(time.Now())
	if err != nil {
		in.over = in.over || over
	} else {
		err = in.mail.reply(r)
	}
	if err != nil {
		a.m.replies.WithLabelValues(typ, string(tracking.ErrorCode(err))).Inc()
		ws.send(errorMessage(err, r.ID))
		return
	}
	a.m.replies.WithLabelValues(typ, "ok").Inc()
}

// errorMessage is the error message answering a bad record (id: the
// record's, when known) or a refused request.
func errorMessage(err error, id string) []byte {
	e := wire.NewErrorBody(err)
	e.ID = id
	return wire.AppendError(nil, e)
}
