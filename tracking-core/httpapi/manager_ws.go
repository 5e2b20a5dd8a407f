package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/wire"
)

// handleManagerWS streams a team over a WebSocket: batches of positions as
// {"type":"positions","id":"...","positions":[...]} messages, the snapshot
// first (or, with ?since=<id>, the positions missed after it).
//
// As for a worker, the handler returns once the connection is upgraded:
// an idle manager costs the goroutine that reads its control frames
// (pongs, close), parked on a shallow stack between them, and the stream's
// state (see managerStream).
func (a *API) handleManagerWS(w http.ResponseWriter, r *http.Request, claims *auth.Claims) {
	ws, idle, err := a.accept(w, r, wsQuietBufferSize, true)
	if err != nil {
		return
	}
	conn := ws.conn
	idle.frames = true
	m := a.newManagerStream("manager_ws", claims)
	s := &wsSink{ws}
	m.close = func(bool) { _ = conn.CloseNow() }
	leave, started, err := a.watch(r.Context(), r.PathValue("team"), since(r), m.q)
	if err != nil {
		a.log.Warn("manager WebSocket: cannot watch", "team", r.PathValue("team"), "err", errors.Unwrap(err))
		ws.send(errorMessage(err, ""))
		_ = conn.Close(websocket.StatusTryAgainLater, "cannot watch team")
		return
	}
	if started.Reset {
		if err := s.reset(wire.ResetGap); err != nil {
			leave()
			_ = conn.CloseNow()
			return
		}
	}
	a.streams.Add(1) // Shutdown waits for it as for the handler
	m.begin(s, leave, 2, a.streams.Done)
	go func() {
		defer m.done()
		defer a.recoverConn("manager_ws")
		// The client sends nothing: this reads control frames until the
		// connection closes (with a context that is never done, which
		// spares the library a callback per read). A data message is
		// refused. Between frames it waits on idle's shallow stack; what
		// came is read by a goroutine of its own (the library's Reader,
		// which returns errIdle once it has handled the control frames
		// that came, see idleConn), so that this one never runs the
		// library's deep calls and keeps the smallest stack: a pong every
		// heartbeat would otherwise leave it at 4 KB for good.
		var wg sync.WaitGroup
		for {
			idle.wait()
			var err error
			wg.Go(func() {
				defer a.recoverConn("manager_ws")
				err = errReaderPanicked // unless Reader returns
				idle.loop(true)
				_, _, err = conn.Reader(context.Background())
				idle.loop(false)
			})
			wg.Wait()
			if errors.Is(err, errIdle) {
				continue
			}
			if err == nil {
				_ = conn.Close(websocket.StatusPolicyViolation, "unexpected data message")
			}
			break
		}
		m.end("")
	}()
}

// errReaderPanicked ends a manager WebSocket whose frame reader panicked
// (recoverConn logs the panic).
var errReaderPanicked = errors.New("manager WebSocket: frame reader panicked")

type wsSink struct{ *wsWriter }

// positions writes batch as positions messages, one per run of positions,
// and a message per event between them, in order, from a buffer of the
// pool.
func (s *wsSink) positions(batch []tracking.Message) error {
	buf := messageBuffers.Get().(*[]byte)
	b := (*buf)[:0]
	var err error
	for len(batch) > 0 && err == nil {
		if m := batch[0]; m.Kind != tracking.KindPosition {
			batch = batch[1:]
			if m.JSON == nil {
				continue
			}
			b = wire.AppendEvent(b[:0], m)
		} else {
			n := 1
			for n < len(batch) && batch[n].Kind == tracking.KindPosition {
				n++
			}
			b = wire.AppendPositions(b[:0], batch[:n])
			batch = batch[n:]
		}
		err = s.write(b)
	}
	putMessageBuffer(buf, b)
	return err
}

func (s *wsSink) heartbeat() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return s.conn.Ping(ctx)
}

func (s *wsSink) reconnect(reason string) error {
	err := s.write(wire.AppendReconnect(nil, reason))
	_ = s.conn.Close(websocket.StatusServiceRestart, reason)
	return err
}

func (s *wsSink) reset(reason string) error { return s.write(wire.AppendReset(nil, reason)) }
