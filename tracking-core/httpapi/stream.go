package httpapi

import (
	"context"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/hub"
	"github.com/teamtrack/tracking-core/wire"
)

// sink is one manager connection's framing: SSE or WebSocket.
type sink interface {
	positions(batch []tracking.Message) error
	heartbeat() error
	reconnect(reason string) error
}

// watch joins the fan-out of team (which authed has checked) with a fresh
// queue primed with the snapshot.
func (a *API) watch(ctx context.Context, team string) (*hub.Queue, func(), error) {
	q := hub.NewQueue(a.cfg.QueueSoftLimit, a.cfg.QueueHardLimit)
	leave, err := a.hub.Watch(ctx, team, q)
	if err != nil {
		return nil, nil, &tracking.Error{Code: tracking.CodeUnavailable, Message: "cannot watch team " + team + " now", Err: err}
	}
	return q, leave, nil
}

// pump is the manager connection's single writer: it drains q into s in
// batches, at most once per FlushInterval, until the connection ends, its
// lifetime (lifespan of its claims) runs out, the replica drains or the
// manager is too slow to keep.
func (a *API) pump(ctx context.Context, q *hub.Queue, s sink, claims *auth.Claims) {
	life, why := a.lifespan(claims)
	lifetime := time.NewTimer(life)
	defer lifetime.Stop()
	heartbeat := time.NewTicker(a.cfg.Heartbeat)
	defer heartbeat.Stop()
	var pause *time.Timer
	if a.cfg.FlushInterval > 0 {
		pause = time.NewTimer(a.cfg.FlushInterval)
		defer pause.Stop()
	}
	var batch []tracking.Message
	for {
		select {
		case <-q.Ready():
			var conflated int
			var overflow bool
			batch, conflated, overflow = q.Drain(batch[:0])
			if conflated > 0 {
				a.m.conflated.Add(float64(conflated))
			}
			if overflow {
				a.hint(s, wire.ReasonSlow)
				return
			}
			if len(batch) == 0 {
				continue
			}
			if err := s.positions(batch); err != nil {
				return
			}
			a.m.writes.Inc()
			a.m.written.Add(float64(len(batch)))
			clear(batch) // drop references to the JSON until the next drain
			if pause != nil {
				// Let positions gather so the next write carries a batch.
				pause.Reset(a.cfg.FlushInterval)
				select {
				case <-pause.C:
				case <-ctx.Done():
					return
				}
			}
		case <-heartbeat.C:
			if err := s.heartbeat(); err != nil {
				return
			}
		case <-lifetime.C:
			a.hint(s, why)
			return
		case <-a.drain:
			a.hint(s, wire.ReasonShutdown)
			return
		case <-ctx.Done():
			return
		}
	}
}

func (a *API) hint(s sink, reason string) {
	a.m.reconnects.WithLabelValues(reason).Inc()
	_ = s.reconnect(reason)
}
