package fencing

import (
	"context"
	"encoding/json"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/alerting"
	"github.com/teamtrack/tracking-core/geofence"
	"github.com/teamtrack/tracking-core/wire"
)

// statusEvent is the alert record of a presence change, as /events, webhooks
// and Web Push carry it:
//
//	{"id":"2b0c...","kind":"offline","team":"team_one","workerId":"w-17",
//	 "status":"offline","reason":"silent","timeStamp":"2026-11-22T13:21:04.123Z"}
//
// kind is the status (idle or offline), so that webhooks and push
// subscriptions filter on it like on fence kinds.
type statusEvent struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Team      string `json:"team"`
	WorkerID  string `json:"workerId"`
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
	TimeStamp string `json:"timeStamp"`
}

// StatusChanged takes a worker's presence change published by this replica
// (the change is on the team's stream already) and, when it is idle or
// offline and still the worker's status StatusSettle later, stores it as
// an alert event. Settled, because managers should be alerted of what the
// streams show: a worker that moved to another replica (its old session's
// offline is superseded by the new session's online) or that came back at
// once raises nothing. Online is not an alert. The event's id is made of
// the worker, its session, the status and when it began. It never blocks;
// without a store or Last it does nothing.
func (e *Engine) StatusChanged(c wire.StatusChange) {
	if e.events == nil || e.cfg.Last == nil || (c.Status != wire.StatusIdle && c.Status != wire.StatusOffline) {
		return
	}
	e.mu.Lock()
	if !e.closed {
		e.settling = append(e.settling, settling{c: c, due: e.cfg.Now().Add(e.cfg.StatusSettle)})
	}
	e.mu.Unlock()
}

type settling struct {
	c   wire.StatusChange
	due time.Time
}

// settle stores the changes come due that are still their workers'
// statuses at the broker. The sweeper calls it.
func (e *Engine) settle(now time.Time) {
	e.mu.Lock()
	n := 0
	for n < len(e.settling) && !e.settling[n].due.After(now) {
		n++
	}
	due := make([]settling, n)
	copy(due, e.settling[:n])
	e.settling = append(e.settling[:0], e.settling[n:]...)
	e.mu.Unlock()
	last := map[string]map[string]tracking.Message{} // team -> worker -> status
	for _, s := range due {
		c := &s.c
		statuses, ok := last[c.Team]
		if !ok {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			msgs, err := e.cfg.Last(ctx, c.Team)
			cancel()
			if err != nil {
				// Stored rather than lost: an alert twice beats none.
				e.log.Warn("presence alerts: reading the team's statuses failed; storing the change unconfirmed", "team", c.Team, "err", err)
			}
			statuses = make(map[string]tracking.Message)
			for _, m := range msgs {
				if m.Kind == tracking.KindStatus {
					statuses[m.Worker] = m
				}
			}
			if err != nil {
				statuses = nil
			}
			last[c.Team] = statuses
		}
		if m, ok := statuses[c.Worker]; ok {
			// Superseded by the same session's next change or by a newer
			// session. What the broker returns may lag behind (Kafka's
			// view is read back from the topic): an older status than
			// this one is no objection.
			if m.Time != c.Session.UnixNano() || m.Received != c.Since.UnixNano() {
				if ours := wire.NewStatusMessage(*c); m.Supersedes(&ours) {
					e.m.statusSuperseded.Inc()
					continue
				}
			}
		}
		e.storeStatus(c)
	}
}

func (e *Engine) storeStatus(c *wire.StatusChange) {
	ref := "status/" + c.Session.UTC().Format(time.RFC3339Nano)
	ev := statusEvent{ID: geofence.EventID(c.Team, c.Worker, ref, geofence.Kind(c.Status), c.Since),
		Kind: c.Status, Team: c.Team, WorkerID: c.Worker, Status: c.Status, Reason: c.Reason,
		TimeStamp: c.Since.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	js, _ := json.Marshal(ev) // strings only: cannot fail
	e.m.alerts.WithLabelValues(c.Status).Inc()
	e.events.add(alerting.Event{ID: ev.ID, Team: c.Team, Worker: c.Worker, Kind: c.Status, Time: c.Since, JSON: js})
}
