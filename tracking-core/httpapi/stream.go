package httpapi

import (
	"context"
	"net/http"
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
	reset(reason string) error
}

// watch joins the fan-out of team (which authed has checked) with a fresh
// queue, primed with the positions after since (a stream id the client
// had) or, without one or when it cannot be resumed from, with the snapshot.
func (a *API) watch(ctx context.Context, team, since string) (*hub.Queue, func(), hub.Started, error) {
	q := hub.NewQueue(a.cfg.QueueSoftLimit, a.cfg.QueueHardLimit)
	var start hub.Start
	malformed := false
	if since != "" {
		off, err := tracking.ParseOffset(since)
		if err != nil {
			// Answering 400 would stop a browser's EventSource for good:
			// a resume that cannot be done starts from the snapshot.
			malformed = true
			a.log.Debug("unparsable stream id, starting from the snapshot", "team", team, "id", since)
		}
		start.After = off
	}
	leave, started, err := a.hub.Watch(ctx, team, q, start)
	if err != nil {
		return nil, nil, started, &tracking.Error{Code: tracking.CodeUnavailable, Message: "cannot watch team " + team + " now", Err: err}
	}
	started.Reset = started.Reset || malformed
	if a.cfg.Advisor != nil {
		// A live manager: the team's workers report more often.
		hubLeave, adviceLeave := leave, a.cfg.Advisor.Watch(team)
		leave = func() { hubLeave(); adviceLeave() }
	}
	return q, leave, started, nil
}

// since is the stream id a manager resumes after: the Last-Event-ID header
// (EventSource sends it when it reconnects) or the since parameter.
func since(r *http.Request) string {
	if id := r.URL.Query().Get("since"); id != "" {
		return id
	}
	return r.Header.Get("Last-Event-ID")
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
	// Positions received before the stream began are its snapshot or a
	// resume: their age is not a delivery latency.
	began := time.Now().UnixNano()
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
				a.m.dropped.Add(float64(q.Lost()))
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
			a.observeLatency(batch, began)
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

// observeLatency records, for the live positions of a batch just written,
// the time since the platform received them.
func (a *API) observeLatency(batch []tracking.Message, began int64) {
	now := time.Now().UnixNano()
	for i := range batch {
		m := &batch[i]
		if m.Kind != tracking.KindPosition || m.Received < began {
			continue
		}
		a.m.latency.Observe(float64(max(now-m.Received, 0)) / 1e9)
	}
}
