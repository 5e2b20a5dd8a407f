package simulator

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teamtrack/tracking-core/wire"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// wsConn is a worker's WebSocket (apiclient.WorkerConn): the worker goroutine
// writes records; the client's reader goroutine counts the server's error
// answers, passes sampling advice to the worker and acknowledges dispatch
// messages. Writes from both goroutines (and from read-receipt timers) are
// safe: coder/websocket serializes Conn.Write, one whole message at a time.
type wsConn struct {
	c      *apiclient.WorkerConn
	env    *runEnv
	w      *worker // nil in benchmarks: advice and messages are then only counted
	url    string
	cancel context.CancelFunc // of the connection's ctx, below the hard stop

	// ready is closed once c is set, or the dial failed (c stays nil): the
	// reader may see a message before DialWorker returns.
	ready chan struct{}
	wc    atomic.Pointer[apiclient.WorkerConn]

	// Read receipts pending (-read-after), stopped when the connection ends.
	mu      sync.Mutex
	closed  bool
	timers  map[*time.Timer]struct{}
	replies sync.WaitGroup // read receipts being written
}

var _ conn = (*wsConn)(nil)

// replyTimeout bounds writing an ack or a read receipt; a write that takes
// longer ends the connection (coder/websocket closes it), as a stall does.
const replyTimeout = writeTimeout

// dialWS opens the WebSocket; the run's hard stop cuts it at once.
func dialWS(ctx context.Context, env *runEnv, c *apiclient.Client, header http.Header, w *worker) (*wsConn, error) {
	ws := &wsConn{env: env, w: w, url: c.BaseURL() + "ws", ready: make(chan struct{})}
	// The hard stop ends the connection; ctx (the run) only the dial.
	dctx, cancel := context.WithCancel(env.hard)
	stop := context.AfterFunc(ctx, cancel)
	wc, err := c.DialWorker(dctx, ws.answer)
	if !stop() || err != nil {
		close(ws.ready) // no replies: the reader's ack attempts are dropped
		cancel()
		if err == nil { // the run ended during the dial
			wc.CloseNow()
			err = ctx.Err()
		}
		return nil, refusal(err, header)
	}
	ws.c, ws.cancel = wc, cancel
	ws.wc.Store(wc)
	close(ws.ready)
	return ws, nil
}

// answer takes one message of the server, on the reader goroutine.
func (ws *wsConn) answer(m *wire.ServerMessage) {
	c := ws.env.c
	switch m.Type {
	case wire.TypeError:
		c.errors.Add(1)
		c.fail(fmt.Errorf("server rejected record %s: %s: %s", m.Error.ID, m.Error.Code, m.Error.Message))
		if ws.w != nil {
			ws.w.noteRejected(m.Error.ID)
		}
		ws.env.log.Debug("record rejected", "url", ws.url, "id", m.Error.ID, "code", m.Error.Code, "message", m.Error.Message)
	case wire.TypeConfig:
		if ws.w != nil {
			ws.w.advise(m.Interval)
		} else {
			c.advice.Add(1)
		}
	case wire.TypeMessage:
		c.messages.Add(1)
		if m.ID == "" {
			c.errors.Add(1)
			c.fail(fmt.Errorf("server sent a dispatch message without an id on %s", ws.url))
			return
		}
		// At once, from here: a redelivered message (after a reconnect) is
		// acked again, which the server takes as it took the first.
		if ws.reply(wire.TypeAck, m.ID) {
			c.acks.Add(1)
		}
		if ws.env.readAfter > 0 {
			ws.readLater(m.ID, ws.env.readAfter)
		}
	}
	// A reconnect hint: Done and Err tell the worker.
}

// reply writes the worker's ack or read receipt of message id and reports
// whether it went out.
func (ws *wsConn) reply(typ, id string) bool {
	<-ws.ready
	wc := ws.wc.Load()
	if wc == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
	defer cancel()
	if err := wc.Send(ctx, wire.AppendWorkerReply(nil, typ, id)); err != nil {
		ws.env.log.Debug("reply not sent", "url", ws.url, "type", typ, "id", id, "err", err)
		return false
	}
	return true
}

// readLater sends the read receipt of id after d, unless the connection has
// ended by then.
func (ws *wsConn) readLater(id string, d time.Duration) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return
	}
	if ws.timers == nil {
		ws.timers = make(map[*time.Timer]struct{})
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		ws.mu.Lock()
		if ws.closed {
			ws.mu.Unlock()
			return
		}
		delete(ws.timers, t)
		ws.replies.Add(1)
		ws.mu.Unlock()
		defer ws.replies.Done()
		if ws.reply(wire.TypeRead, id) {
			ws.env.c.reads.Add(1)
		}
	})
	ws.timers[t] = struct{}{}
}

// stopReplies stops the pending read receipts.
func (ws *wsConn) stopReplies() {
	ws.mu.Lock()
	ws.closed = true
	for t := range ws.timers {
		t.Stop()
	}
	ws.timers = nil
	ws.mu.Unlock()
}

func (ws *wsConn) send(rec []byte) error {
	// Background: no per-write timer; a write blocked on a silent peer is
	// released by the hard stop or abort.
	return ws.c.Send(context.Background(), rec)
}

func (ws *wsConn) done() <-chan struct{} { return ws.c.Done() }

func (ws *wsConn) err() error {
	if err := ws.c.Err(); err != nil {
		return err
	}
	return errStreamClosed
}

func (ws *wsConn) abort() { ws.c.CloseNow() }

func (ws *wsConn) close() {
	ws.stopReplies()
	_ = ws.c.Close()
	ws.cancel()
	ws.replies.Wait() // their writes fail at once on the closed connection
}
