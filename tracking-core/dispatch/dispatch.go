package dispatch

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/messaging"
	"github.com/teamtrack/tracking-core/wire"
)

// Config of a Dispatcher. Store, Mailbox, Publish and Last are required.
type Config struct {
	Store   messaging.Store
	Mailbox tracking.Mailbox
	// Publish puts delivery events on the team's stream (the Broadcaster's).
	Publish func(ctx context.Context, msgs ...tracking.Message) error
	// Last is the team's last known positions and statuses (the
	// Broadcaster's): who "all" is, and who is online.
	Last func(ctx context.Context, team string) ([]tracking.Message, error)
	// ExpireEvery is how often recipients past their message's ttl are
	// marked expired. Default 1s.
	ExpireEvery time.Duration
	// Keep is how long a message stays queryable after its ttl ran out
	// (HISTORY_RETENTION). Default 7 days.
	Keep time.Duration
	// PendingLimit is the most pending messages a connecting worker is
	// sent at once (more follow on its next connection). Default 1000.
	PendingLimit int
	// InboxBacklog is how many live messages a worker connection queues
	// while it writes; past it, the inbox reads the store again. Default 64.
	InboxBacklog int
	// Now reads the clock (tests set it). Default time.Now.
	Now func() time.Time
	// Logger receives the logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the metrics (dispatch_*). Default: none.
	Registerer prometheus.Registerer
}

func (c *Config) setDefaults() {
	c.ExpireEvery = cmp.Or(max(c.ExpireEvery, 0), time.Second)
	c.Keep = cmp.Or(max(c.Keep, 0), 7*24*time.Hour)
	c.PendingLimit = min(cmp.Or(max(c.PendingLimit, 0), 1000), messaging.MaxLimit)
	c.InboxBacklog = cmp.Or(max(c.InboxBacklog, 0), 64)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
}

// Dispatcher sends messages and runs the expiry of their recipients. One per
// replica.
type Dispatcher struct {
	cfg  Config
	log  *slog.Logger
	m    *metrics
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New returns a Dispatcher and starts its expiry round.
func New(cfg Config) (*Dispatcher, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("dispatch: Config.Store is required")
	case cfg.Mailbox == nil:
		return nil, errors.New("dispatch: Config.Mailbox is required (the Broadcaster carries no mail)")
	case cfg.Publish == nil || cfg.Last == nil:
		return nil, errors.New("dispatch: Config.Publish and Config.Last are required")
	}
	cfg.setDefaults()
	ctx, stop := context.WithCancel(context.Background())
	d := &Dispatcher{cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer), ctx: ctx, stop: stop}
	d.wg.Add(1)
	go d.expireLoop()
	return d, nil
}

// Close stops the expiry round and waits for it. Inboxes are closed by
// their connections. Idempotent.
func (d *Dispatcher) Close() {
	d.stop()
	d.wg.Wait()
}

// Request is a message to send.
type Request struct {
	// ID makes a retried request idempotent: the same id and content
	// answer the stored message. Empty: one is assigned.
	ID     string
	Team   string
	Sender string // who sends it: the manager's identity
	// To names the recipients; All sends to every worker the team knows
	// (with a last position or status) instead.
	To   []string
	All  bool
	Body json.RawMessage
	TTL  time.Duration
}

// Result is what Send did.
type Result struct {
	Message messaging.Message
	// Online is how many recipients have a live connection now (online or
	// idle); Queued the others, who get it when they connect, within ttl.
	Online, Queued int
}

// Send stores r's message, publishes its "sent" events and posts it to each
// recipient's connection. Errors: *tracking.Error for a bad request
// (invalid_field naming "to", "body", "ttl"...), else the store's failure.
// A failure to publish or post is logged, not returned: the message is
// stored, and a recipient that missed it live gets it when it connects.
func (d *Dispatcher) Send(ctx context.Context, r Request) (Result, error) {
	if err := tracking.ValidTeam(r.Team); err != nil {
		return Result{}, err
	}
	last, err := d.cfg.Last(ctx, r.Team)
	if err != nil {
		return Result{}, fmt.Errorf("last positions of team %s: %w", r.Team, err)
	}
	online := onlineWorkers(last)
	to := r.To
	if r.All {
		if to = knownWorkers(last); len(to) == 0 {
			return Result{}, &tracking.Error{Code: tracking.CodeInvalidField, Field: "to",
				Message: "team " + r.Team + " has no known workers to send to"}
		}
	}
	now := d.cfg.Now()
	m := messaging.Message{ID: r.ID, Team: r.Team, Sender: r.Sender, Body: r.Body, CreatedAt: now, ExpiresAt: now.Add(r.TTL)}
	m.Recipients = make([]messaging.Recipient, len(to))
	for i, w := range to {
		m.Recipients[i].Worker = w
	}
	stored, err := d.cfg.Store.Create(ctx, m)
	if err != nil {
		return Result{}, err
	}
	// Stored: announced and posted even if the caller goes away now.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	retry := !stored.CreatedAt.Equal(messaging.Stamp(now))
	res := Result{Message: stored}
	events := make([]wire.Delivery, 0, len(stored.Recipients))
	for _, rc := range stored.Recipients {
		if _, ok := online[rc.Worker]; ok {
			res.Online++
		}
		events = append(events, wire.Delivery{Team: stored.Team, Worker: rc.Worker, MessageID: stored.ID,
			State: string(messaging.StateSent), At: stored.CreatedAt})
	}
	res.Queued = len(stored.Recipients) - res.Online
	if !retry {
		d.m.sent.Inc()
		d.m.recipients.Add(float64(len(stored.Recipients)))
		d.publish(ctx, events...)
	}
	// Every recipient's address, not only those online now: a worker
	// connecting this instant reads its pending messages before the store
	// has this one, and is listening already; one nobody listens for costs
	// the broker a dropped payload.
	frame := wire.AppendDispatch(nil, stored.ID, stored.Body, stored.CreatedAt, stored.ExpiresAt)
	for _, rc := range stored.Recipients {
		if err := d.cfg.Mailbox.Post(ctx, tracking.Address{Team: stored.Team, Worker: rc.Worker}, frame); err != nil {
			d.m.failures.WithLabelValues("post").Inc()
			d.log.Warn("dispatch: post to worker", "team", stored.Team, "worker", rc.Worker, "id", stored.ID, "err", err)
		}
	}
	return res, nil
}

// Get returns a message with each recipient's state.
func (d *Dispatcher) Get(ctx context.Context, team, id string) (messaging.Message, error) {
	return d.cfg.Store.Get(ctx, team, id)
}

// publish puts delivery events on their team's stream, logging a failure
// (the state is stored: GET .../messages/{id} has it).
func (d *Dispatcher) publish(ctx context.Context, ds ...wire.Delivery) {
	if len(ds) == 0 {
		return
	}
	now := d.cfg.Now()
	msgs := make([]tracking.Message, len(ds))
	for i, dl := range ds {
		msgs[i] = wire.NewDeliveryMessage(dl, now)
		d.m.deliveries.WithLabelValues(dl.State).Inc()
	}
	if err := d.cfg.Publish(ctx, msgs...); err != nil {
		d.m.failures.WithLabelValues("publish").Inc()
		d.log.Warn("dispatch: publish delivery events", "team", ds[0].Team, "events", len(ds), "err", err)
	}
}

// expireLoop marks the recipients past their ttl expired, every
// ExpireEvery, and prunes messages older than Keep, hourly.
func (d *Dispatcher) expireLoop() {
	defer d.wg.Done()
	t := time.NewTicker(d.cfg.ExpireEvery)
	defer t.Stop()
	var pruned time.Time
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		d.expire()
		if now := d.cfg.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			ctx, cancel := context.WithTimeout(d.ctx, time.Minute)
			if err := d.cfg.Store.Prune(ctx, now.Add(-d.cfg.Keep)); err != nil && d.ctx.Err() == nil {
				d.m.failures.WithLabelValues("prune").Inc()
				d.log.Warn("dispatch: retention", "err", err)
			}
			cancel()
		}
	}
}

const expireBatch = 1000

func (d *Dispatcher) expire() {
	for {
		ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
		got, err := d.cfg.Store.Expire(ctx, d.cfg.Now(), expireBatch)
		if err != nil {
			cancel()
			if d.ctx.Err() == nil {
				d.m.failures.WithLabelValues("expire").Inc()
				d.log.Warn("dispatch: expire", "err", err)
			}
			return
		}
		// Each team's events in one publish.
		for i := 0; i < len(got); {
			j := i + 1
			for j < len(got) && got[j].Team == got[i].Team {
				j++
			}
			ds := make([]wire.Delivery, 0, j-i)
			for _, e := range got[i:j] {
				ds = append(ds, wire.Delivery{Team: e.Team, Worker: e.Worker, MessageID: e.ID,
					State: string(messaging.StateExpired), At: e.At})
			}
			d.publish(ctx, ds...)
			i = j
		}
		cancel()
		if len(got) < expireBatch {
			return
		}
	}
}

var (
	statusOnline = []byte(`"status":"online"`)
	statusIdle   = []byte(`"status":"idle"`)
)

// onlineWorkers are the workers whose newest status in last says they have a
// live connection (online or idle).
func onlineWorkers(last []tracking.Message) map[string]struct{} {
	out := make(map[string]struct{})
	for _, m := range last {
		if m.Kind == tracking.KindStatus && (bytes.Contains(m.JSON, statusOnline) || bytes.Contains(m.JSON, statusIdle)) {
			out[m.Worker] = struct{}{}
		}
	}
	return out
}

// knownWorkers are the workers with a last position or status, sorted.
func knownWorkers(last []tracking.Message) []string {
	seen := make(map[string]struct{}, len(last))
	out := make([]string, 0, len(last))
	for _, m := range last {
		if _, ok := seen[m.Worker]; ok || m.Worker == "" || !m.Kind.InLast() {
			continue
		}
		seen[m.Worker] = struct{}{}
		out = append(out, m.Worker)
	}
	slices.Sort(out)
	return out
}
