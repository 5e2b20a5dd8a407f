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

func (s *wsSink) positions(batch []tracking.Message) error {
	s.buf = wire.AppendPositions(s.buf[:0], batch)
	return s.write(s.buf)
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
