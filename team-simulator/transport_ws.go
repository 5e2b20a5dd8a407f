package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// serverMessage is what the service sends back on a worker's WebSocket.
type serverMessage struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id"`
	Reason  string `json:"reason"`
}

// wsConn is a worker's WebSocket: the worker goroutine writes, one reader
// goroutine handles what the server sends (error answers, reconnect hints,
// pings, the close).
type wsConn struct {
	c    *websocket.Conn
	env  *runEnv
	url  string
	dead chan struct{} // closed when the reader ends

	// ended is closed when the connection is over for the worker: the reader
	// ended, or the server asked to reconnect. Records written after the hint
	// would race the server's close, so none are.
	ended   chan struct{}
	endOnce sync.Once

	mu    sync.Mutex
	hint  string // reason of a {"type":"reconnect"} message
	cause error

	stopHard func() bool
	hardDone chan struct{}
}

var _ conn = (*wsConn)(nil)

func dialWS(ctx context.Context, env *runEnv, url string, header http.Header) (*wsConn, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: env.client, HTTPHeader: header})
	if err != nil {
		if resp != nil {
			if aerr := refused(url, resp.StatusCode, resp.Body, header); aerr != nil {
				return nil, aerr
			}
			return nil, fmt.Errorf("websocket %s: status %s: %w", url, resp.Status, err)
		}
		return nil, fmt.Errorf("websocket %s: %w", url, err)
	}
	c.SetReadLimit(64 << 10)
	w := &wsConn{c: c, env: env, url: url, dead: make(chan struct{}), ended: make(chan struct{}), hardDone: make(chan struct{})}
	w.stopHard = context.AfterFunc(env.hard, func() {
		defer close(w.hardDone)
		c.CloseNow()
	})
	go w.readLoop()
	return w, nil
}

func (w *wsConn) readLoop() {
	defer close(w.dead)
	defer w.endOnce.Do(func() { close(w.ended) })
	var buf []byte
	for {
		// A context without Done: coder/websocket would otherwise set up a
		// timer per read. The connection is closed by close or the hard stop.
		typ, r, err := w.c.Reader(context.Background())
		if err == nil {
			buf, err = readAll(buf, r)
		}
		if err != nil {
			w.end(err)
			return
		}
		if typ == websocket.MessageText {
			w.handle(buf)
		}
	}
}

func (w *wsConn) handle(msg []byte) {
	var m serverMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		w.env.log.Debug("unreadable message from server", "url", w.url, "err", err)
		return
	}
	switch m.Type {
	case "error":
		w.env.c.errors.Add(1)
		err := fmt.Errorf("server rejected record %s: %s: %s", m.ID, m.Code, m.Message)
		w.env.c.fail(err)
		w.env.log.Debug("record rejected", "url", w.url, "id", m.ID, "code", m.Code, "message", m.Message)
	case "reconnect":
		if m.Reason == "" {
			m.Reason = "unspecified"
		}
		w.mu.Lock()
		w.hint = m.Reason
		w.cause = &reconnectHint{reason: m.Reason}
		w.mu.Unlock()
		w.endOnce.Do(func() { close(w.ended) })
	}
}

func (w *wsConn) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.hint != "":
		w.cause = &reconnectHint{reason: w.hint}
	case websocket.CloseStatus(err) == websocket.StatusServiceRestart:
		w.cause = &reconnectHint{reason: "close 1012"}
	default:
		w.cause = fmt.Errorf("websocket %s: %w", w.url, err)
	}
}

func (w *wsConn) send(rec []byte) error {
	// Background: no per-write timer; a write blocked on a silent peer is
	// released by the hard stop.
	return w.c.Write(context.Background(), websocket.MessageText, rec)
}

func (w *wsConn) done() <-chan struct{} { return w.ended }

func (w *wsConn) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cause == nil {
		return errStreamClosed
	}
	return w.cause
}

func (w *wsConn) abort() { _ = w.c.CloseNow() }

func (w *wsConn) close() {
	// Close runs the closing handshake (bounded by the library at 5 s) and then
	// closes the socket, which ends the reader. Its error only says that the
	// server had gone first, which the caller already knows from done.
	_ = w.c.Close(websocket.StatusNormalClosure, "")
	<-w.dead
	if !w.stopHard() {
		<-w.hardDone
	}
}
