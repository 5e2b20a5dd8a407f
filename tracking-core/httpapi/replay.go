package httpapi

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/history"
	"github.com/teamtrack/tracking-core/wire"
)

// Replay tuning: records read from history per query, and the most
// positions one write carries at speed=max.
const (
	replayPage     = 5_000
	replayMaxBatch = 1_000
	replayMaxSpeed = 10_000
)

// replayPlan is a parsed replay request.
type replayPlan struct {
	q     history.Query
	speed float64 // 0: as fast as the client reads
}

// handleReplay serves GET /tracking/{team}/replay: the team's positions from
// history with fix times in [from, to), paced at speed times real time (a
// position whose fix is d after from goes out d/speed after the start), on
// the live stream's framing: Server-Sent Events, or a WebSocket when the
// request is an upgrade. It ends with an end notice (wire.ReplayEnd). Who
// may replay a team is who may watch it.
func (a *API) handleReplay(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	h, ok := a.historyOr501(w)
	if !ok {
		return
	}
	plan, err := parseReplay(r, time.Now())
	if err != nil {
		writeError(w, err)
		return
	}
	if isUpgrade(r) {
		ws, _, err := a.accept(w, r, wsQuietBufferSize, false)
		if err != nil {
			return
		}
		conn := ws.conn
		defer conn.CloseNow()
		ctx := conn.CloseRead(r.Context())
		defer a.open("replay_ws")()
		s := &wsSink{ws}
		end := a.replay(ctx, h.Store(), plan, s)
		_ = s.write(wire.AppendEnd(nil, end))
		_ = conn.Close(websocket.StatusNormalClosure, "replay ended")
		return
	}
	defer a.open("replay_sse")()
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sseSink{w: w, rc: http.NewResponseController(w), timeout: a.cfg.WriteTimeout}
	if err := s.write(wire.AppendSSERetry(nil, a.cfg.RetryHint)); err != nil {
		return
	}
	end := a.replay(r.Context(), h.Store(), plan, s)
	_ = s.write(wire.AppendSSEEnd(nil, end))
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// replay reads plan's records page by page and writes each when it is due.
// Positions due within FlushInterval of each other go out in one write.
func (a *API) replay(ctx context.Context, store history.Store, plan replayPlan, s sink) wire.ReplayEnd {
	var end wire.ReplayEnd
	start := time.Now()
	heartbeat := time.NewTicker(a.cfg.Heartbeat)
	defer heartbeat.Stop()
	wait := time.NewTimer(time.Hour)
	defer wait.Stop()
	q := plan.q
	var batch []tracking.Message
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		err := s.positions(batch)
		end.Positions += len(batch)
		clear(batch)
		batch = batch[:0]
		return err == nil
	}
	for {
		page, err := store.Query(ctx, q)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("replay: history query", "team", q.Team, "err", err)
				end.Error = "history could not be read: " + tracking.ErrorMessage(err)
			}
			flush()
			return end
		}
		for _, rec := range page.Records {
			due := start
			if plan.speed > 0 {
				due = start.Add(time.Duration(float64(rec.Position.TimeStamp.Sub(plan.q.From)) / plan.speed))
			}
			if until := time.Until(due); until > a.cfg.FlushInterval || len(batch) >= replayMaxBatch {
				if !flush() {
					return end
				}
				if until > 0 && !a.sleep(ctx, wait, heartbeat, until, s) {
					return end
				}
			}
			p := rec.Position
			batch = append(batch, tracking.Message{Team: p.Team, Worker: p.WorkerID, Time: p.TimeStamp.UnixNano(),
				Received: rec.Received.UnixNano(), JSON: wire.AppendPosition(nil, &p)})
		}
		if page.Next == "" {
			flush()
			return end
		}
		q.Cursor = page.Next
	}
}

// sleep waits d, sending heartbeats meanwhile; false when the stream must end.
func (a *API) sleep(ctx context.Context, wait *time.Timer, heartbeat *time.Ticker, d time.Duration, s sink) bool {
	wait.Reset(d)
	for {
		select {
		case <-wait.C:
			return true
		case <-heartbeat.C:
			if s.heartbeat() != nil {
				return false
			}
		case <-a.drain:
			a.hint(s, wire.ReasonShutdown)
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// parseReplay reads from (required), to (default now) and speed (a positive
// number up to replayMaxSpeed, or max; default 1).
func parseReplay(r *http.Request, now time.Time) (replayPlan, error) {
	v := r.URL.Query()
	plan := replayPlan{q: history.Query{Team: r.PathValue("team"), Limit: replayPage}, speed: 1}
	var err error
	if plan.q.From, err = parseTime(v, "from", time.Time{}); err != nil {
		return plan, err
	}
	if plan.q.To, err = parseTime(v, "to", now); err != nil {
		return plan, err
	}
	if !plan.q.To.After(plan.q.From) {
		return plan, paramError("to", "must be after from")
	}
	switch s := v.Get("speed"); s {
	case "":
	case "max":
		plan.speed = 0
	default:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > replayMaxSpeed {
			return plan, paramError("speed", "must be a number above 0 and at most %d, or max; got %q", replayMaxSpeed, clipParam(s))
		}
		plan.speed = f
	}
	if err := tracking.ValidTeam(plan.q.Team); err != nil {
		return plan, err
	}
	return plan, nil
}
