package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/wire"
)

// handleManagerWS streams a team over a WebSocket: batches of positions as
// {"type":"positions","id":"...","positions":[...]} messages, the snapshot
// first (or, with ?since=<id>, the positions missed after it).
func (a *API) handleManagerWS(w http.ResponseWriter, r *http.Request, claims *auth.Claims) {
	conn, err := a.accept(w, r)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	// The client sends nothing; this reads control frames (pongs, close).
	ctx := conn.CloseRead(r.Context())
	s := &wsSink{conn: conn, timeout: a.cfg.WriteTimeout}
	q, leave, started, err := a.watch(ctx, r.PathValue("team"), since(r))
	if err != nil {
		a.sendWS(conn, errorMessage(err, ""))
		_ = conn.Close(websocket.StatusTryAgainLater, "cannot watch team")
		return
	}
	defer leave()
	defer a.open("manager_ws")()
	if started.Reset {
		if err := s.reset(wire.ResetGap); err != nil {
			return
		}
	}
	a.pump(ctx, q, s, claims)
}

type wsSink struct {
	conn    *websocket.Conn
	timeout time.Duration
	buf     []byte
}

// positions writes batch as positions messages, one per run of positions,
// and a message per event between them, in order.
func (s *wsSink) positions(batch []tracking.Message) error {
	for len(batch) > 0 {
		if m := batch[0]; m.Kind != tracking.KindPosition {
			batch = batch[1:]
			if m.JSON == nil {
				continue
			}
			s.buf = wire.AppendEvent(s.buf[:0], m)
		} else {
			n := 1
			for n < len(batch) && batch[n].Kind == tracking.KindPosition {
				n++
			}
			s.buf = wire.AppendPositions(s.buf[:0], batch[:n])
			batch = batch[n:]
		}
		if err := s.write(s.buf); err != nil {
			return err
		}
	}
	return nil
}

func (s *wsSink) heartbeat() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return s.conn.Ping(ctx)
}

func (s *wsSink) reconnect(reason string) error {
	s.buf = wire.AppendReconnect(s.buf[:0], reason)
	err := s.write(s.buf)
	_ = s.conn.Close(websocket.StatusServiceRestart, reason)
	return err
}

func (s *wsSink) reset(reason string) error {
	s.buf = wire.AppendReset(s.buf[:0], reason)
	return s.write(s.buf)
}

func (s *wsSink) write(b []byte) error { return writeWS(s.conn, s.timeout, b) }
