package tracking

import (
	"context"
)

// Message is one position as it travels between replicas and out to managers:
// its routing keys and its canonical JSON, serialised once and shared read-only
// by every recipient. Nobody may modify JSON after the Message is published.
type Message struct {
	Team   string
	Worker string
	Time   int64  // the record's timeStamp, Unix nanoseconds
	JSON   []byte // canonical JSON record (Position.AppendJSON)
}

// Handler receives the positions of one team, in batches. Within a batch and
// across calls, positions of one worker arrive in the order they were published.
// It is called from the Broadcaster's delivery goroutine: it must not block, and
// it must not keep msgs (the slice; the Messages themselves may be kept).
type Handler func(msgs []Message)

// Broadcaster carries positions between the replicas of one strategy and keeps
// the last known position of each worker. Implementations: memory (the reference),
// Redis (tracking-redis) and Kafka (tracking-kafka); each runs the conformance
// suite in broadcasttest. All methods are safe for concurrent use.
type Broadcaster interface {
	// Publish hands msgs to the broker for every replica subscribed to their
	// teams, and records them as their workers' last known positions. It does not
	// wait for the broker: it returns once msgs are queued, ErrOverloaded when the
	// send queue is full and ErrClosed after Close. Failures to deliver a queued
	// message are counted in metrics and logged, never silently dropped.
	Publish(ctx context.Context, msgs ...Message) error

	// Subscribe calls h with every position of team published from now on, by any
	// replica, until ctx is done or the Subscription is ended. It returns once the
	// subscription is in place at the broker (a position published after Subscribe
	// returns is delivered), or with an error. One Broadcaster may hold several
	// subscriptions to one team; each gets every position. After a broker outage the
	// subscription resumes by itself; positions published during it may be lost.
	Subscribe(ctx context.Context, team string, h Handler) (Subscription, error)

	// Last returns the last known position of each worker of team that published
	// within the broadcaster's staleness window, in no particular order.
	Last(ctx context.Context, team string) ([]Message, error)

	// Ready returns nil when the broker is reachable.
	Ready(ctx context.Context) error

	// Close ends every subscription, flushes what can be flushed within a short
	// grace and releases broker resources. It is idempotent; no goroutine of the
	// Broadcaster outlives it.
	Close() error
}

// Subscription is one Subscribe call's standing at the broker.
type Subscription interface {
	// Unsubscribe ends the subscription and waits until h will not be called
	// again. It is idempotent.
	Unsubscribe()
	// Done is closed once the subscription has ended (Unsubscribe, the ctx given
	// to Subscribe, or Close of the Broadcaster) and h will not be called again.
	Done() <-chan struct{}
}
