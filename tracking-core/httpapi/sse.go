package httpapi

import (
	"net/http"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/wire"
)

// handleSSE streams a team as Server-Sent Events: the snapshot (or, for a
// client that gives the id it had, the positions it missed), then live
// positions, one unnamed data event each with its stream id.
func (a *API) handleSSE(w http.ResponseWriter, r *http.Request, claims *auth.Claims) {
	q, leave, started, err := a.watch(r.Context(), r.PathValue("team"), since(r))
	if err != nil {
		writeError(w, err)
		return
	}
	defer leave()
	defer a.open("manager_sse")()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell proxies not to buffer
	w.WriteHeader(http.StatusOK)
	s := &sseSink{w: w, rc: http.NewResponseController(w), timeout: a.cfg.WriteTimeout}
	if err := s.write(wire.AppendSSERetry(s.buf[:0], a.cfg.RetryHint)); err != nil {
		return
	}
	if started.Reset {
		if err := s.reset(wire.ResetGap); err != nil {
			return
		}
	}
	a.pump(r.Context(), q, s, claims)
}

type sseSink struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     []byte
}

func (s *sseSink) positions(batch []tracking.Message) error {
	s.buf = wire.AppendSSEPositions(s.buf[:0], batch)
	return s.write(s.buf)
}

func (s *sseSink) heartbeat() error { return s.write(wire.AppendSSEHeartbeat(s.buf[:0])) }

func (s *sseSink) reconnect(reason string) error {
	return s.write(wire.AppendSSEReconnect(s.buf[:0], reason))
}

func (s *sseSink) reset(reason string) error {
	return s.write(wire.AppendSSEReset(s.buf[:0], reason))
}

func (s *sseSink) write(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}
