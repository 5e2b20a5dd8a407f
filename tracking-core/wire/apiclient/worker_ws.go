package apiclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/coder/websocket"

	"github.com/teamtrack/tracking-core/wire"
)

// WorkerConn is a worker's WebSocket: Send writes records (one per message,
// or a JSON array of them); one reader goroutine takes what the server sends
// (error answers, the reconnect hint, pings, the close).
type WorkerConn struct {
	c           *websocket.Conn
	url         string
	onAnswer    func(*wire.ServerMessage)
	dead        chan struct{} // closed when the reader ends
	stopCtx     func() bool   // stops the AfterFunc of the dial's ctx
	ctxDone     chan struct{} // closed when that AfterFunc has run
	releaseOnce sync.Once

	// ended is closed when the connection is over for the worker: the reader
	// ended, or the server asked to reconnect (records sent after the hint
	// would race the server's close).
	ended   chan struct{}
	endOnce sync.Once

	mu    sync.Mutex
	hint  string
	cause error
}

// DialWorker opens a worker WebSocket ({base}/ws). onAnswer, if not nil, is
// called from the reader goroutine with each message of the server (error
// answers, reconnect hints), valid during the call only. When ctx is done the
// connection is cut at once (CloseNow); Close ends it cleanly.
func (c *Client) DialWorker(ctx context.Context, onAnswer func(*wire.ServerMessage)) (*WorkerConn, error) {
	url := c.url("/ws")
	conn, err := c.dialWS(ctx, url)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 10)
	w := &WorkerConn{c: conn, url: redact(url), onAnswer: onAnswer, dead: make(chan struct{}), ended: make(chan struct{}), ctxDone: make(chan struct{})}
	w.stopCtx = context.AfterFunc(ctx, func() {
		defer close(w.ctxDone)
		conn.CloseNow()
	})
	go w.readLoop()
	return w, nil
}

// dialWS runs a WebSocket handshake within DialTimeout; a refusal is a
// *StatusError.
func (c *Client) dialWS(ctx context.Context, url string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: c.cfg.HTTPClient, HTTPHeader: c.header()})
	if err != nil {
		if resp != nil && resp.StatusCode != 0 && resp.StatusCode != 101 {
			return nil, newStatusError("websocket", url, resp, nil)
		}
		return nil, fmt.Errorf("websocket %s: %w", redact(url), err)
	}
	return conn, nil
}

func (w *WorkerConn) readLoop() {
	defer close(w.dead)
	defer w.endOnce.Do(func() { close(w.ended) })
	var buf []byte
	var m wire.ServerMessage
	for {
		// A context without Done spares the library a timer per read: Close,
		// CloseNow or the dial ctx end the read.
		typ, r, err := w.c.Reader(context.Background())
		if err == nil {
			buf, err = readAll(buf, r)
		}
		if err != nil {
			w.end(err)
			return
		}
		if typ != websocket.MessageText || wire.DecodeServerMessage(&m, buf) != nil {
			continue
		}
		if m.Type == wire.TypeReconnect {
			w.mu.Lock()
			w.hint = m.Reason
			if w.hint == "" {
				w.hint = "unspecified"
			}
			w.mu.Unlock()
		}
		if w.onAnswer != nil {
			w.onAnswer(&m)
		}
		if m.Type == wire.TypeReconnect {
			w.endOnce.Do(func() { close(w.ended) })
		}
	}
}

func (w *WorkerConn) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cause = wsEndError(w.hint, err, w.url)
}

// wsEndError is why a WebSocket read ended with err: the reconnect hint the
// server sent before, else a close 1012 (service restart) as a hint too, else
// the read error.
func wsEndError(hint string, err error, url string) error {
	switch {
	case hint != "":
		return &ReconnectError{Reason: hint}
	case websocket.CloseStatus(err) == websocket.StatusServiceRestart:
		return &ReconnectError{Reason: "close 1012"}
	}
	return fmt.Errorf("websocket %s: %w", url, err)
}

// Send writes one text message: a record or a JSON array of records. msg is
// not kept. ctx bounds the write (context.Background: no timer per write).
func (w *WorkerConn) Send(ctx context.Context, msg []byte) error {
	return w.c.Write(ctx, websocket.MessageText, msg)
}

// Done is closed when the connection has ended on its own (the server closed
// it, or it broke) or the server asked to reconnect; Err then says why.
func (w *WorkerConn) Done() <-chan struct{} { return w.ended }

// Err is why the connection ended: a *ReconnectError when the server asked
// to reconnect, else the read error (websocket.CloseStatus tells the close
// status: 1008 for a worker cut off for flooding). Nil while it lasts.
func (w *WorkerConn) Err() error {
	select {
	case <-w.ended:
	default:
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cause == nil { // a hint, the reader still running
		return &ReconnectError{Reason: w.hint}
	}
	return w.cause
}

// CloseNow cuts the connection at once, releasing a blocked Send; it may be
// called from any goroutine, and waits for the reader.
func (w *WorkerConn) CloseNow() {
	_ = w.c.CloseNow()
	<-w.dead
	w.release()
}

// release stops watching the dial's ctx, waiting for its AfterFunc if it
// has started, so that no goroutine of the connection outlives Close. It runs
// once: Close and CloseNow are idempotent.
func (w *WorkerConn) release() {
	w.releaseOnce.Do(func() {
		if !w.stopCtx() {
			<-w.ctxDone
		}
	})
}

// Close ends the connection with a normal close handshake (bounded by the
// library at 5 s) and waits for the reader. Its error only says the server
// had gone first, which Done tells anyway.
func (w *WorkerConn) Close() error {
	err := w.c.Close(websocket.StatusNormalClosure, "")
	<-w.dead
	w.release()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// readAll reads r to the end into buf, reusing its storage.
func readAll(buf []byte, r io.Reader) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if err == io.EOF {
				return buf, nil
			}
			return buf, err
		}
	}
}
