package tracking

import (
	"context"
)

// Message is one position (or event: see Kind) as it travels between
// replicas and out to managers: its routing keys, its two times and its
// canonical JSON, serialised once.
//
// Ownership: a Message and its JSON bytes are immutable once published.
// Anyone who receives one (a Handler, a caller of Last) may keep it, and its
// JSON, for as long as it likes; nobody may modify JSON. The slices that carry
// Messages (the msgs of Publish and of a Handler call) belong to whoever made
// them and are reused after the call returns: keep the Messages, not the slice.
type Message struct {
	Kind   Kind // KindPosition, the zero value, unless it is an event
	Team   string
	Worker string
	// Time is the fix time: the record's timeStamp, Unix nanoseconds. It
	// orders a worker's positions: the last known position is the newest fix.
	Time int64
	// Received is when the platform took the record in (Unix nanoseconds,
	// the ingesting replica's clock). Staleness is judged by it, so a worker
	// whose own clock is wrong stays visible while it sends.
	Received int64
	// Offset is the position's place in its team's resumable stream. The
	// broker sets it: zero in the Messages given to Publish, set in those
	// delivered to a Handler and returned by Since. Last may leave it zero.
	Offset Offset
	JSON   []byte // canonical JSON record (wire.AppendPosition)
}

// Handler receives the positions of one team, in batches. Within a batch and
// across calls, positions of one worker arrive in the order they were
// published. It is called from the Broadcaster's delivery goroutine: it must
// not block nor call back into the Broadcaster, and it must not keep msgs (the
// slice); the Messages themselves may be kept (see Message).
type Handler func(msgs []Message)

// Broadcaster carries positions between the replicas of one strategy and keeps
// the last known position of each worker. Implementations: memory (the
// reference), Redis (tracking-redis) and Kafka (tracking-kafka); each runs the
// conformance suite in broadcasttest. All methods are safe for concurrent use.
//
// A Broadcaster knows nothing of local clients: the hub counts the managers
// watching a team on this replica and holds one subscription per team while
// any watches it. So an adapter keeps at most one subscription per team.
type Broadcaster interface {
	// Publish hands msgs to the broker for every replica subscribed to their
	// teams, and records them as their workers' last known positions. It does
	// not wait for the broker: it returns once msgs are queued. The call is all
	// or none: ErrOverloaded when the send queue has no room for all of msgs
	// (none of them is sent), ErrClosed after Close. Failures to deliver a
	// queued message are counted in metrics and logged, never silently dropped.
	// Publish copies what it keeps of msgs: the caller may reuse the slice
	// once it returns (the Messages' JSON bytes stay immutable, as always).
	Publish(ctx context.Context, msgs ...Message) error

	// Subscribe calls h with every position of team published from now on, by
	// any replica, until ctx is done or the Subscription is ended. It returns
	// once the subscription is in place at the broker (a position published
	// after Subscribe returns is delivered), or with an error. A team has at
	// most one subscription per Broadcaster at a time: Subscribe of a team that
	// is subscribed returns ErrSubscribed. After a broker outage the
	// subscription resumes by itself; positions published during it may be lost.
	Subscribe(ctx context.Context, team string, h Handler) (Subscription, error)

	// Last returns, for each worker of team, the published position with the
	// newest fix Time (of equal Times, the one published later) and the
	// published status that supersedes its others (Message.Supersedes), each
	// unless it was Received longer ago than the broadcaster's staleness
	// window; in no particular order. A late record with an older fix never
	// replaces a newer one, nor a status of an older session a newer one,
	// even if published from another replica. Alerts are not kept.
	Last(ctx context.Context, team string) ([]Message, error)

	// Since returns the positions of team published after the position at
	// after, in the order a Handler receives them, with their Offsets, and
	// head: the Offset of the newest position of team the broker retains
	// (the last of msgs when there are any). With a zero after it returns no
	// positions, only head, which is then never zero: it names the current
	// epoch even when the team has sent nothing yet, so that resuming from it
	// later returns everything since. The broker retains a team's positions
	// for a window (Redis: RESUME_WINDOW; Kafka: the topic's retention).
	//
	// ErrGap when it cannot return every position after after: some are no
	// longer retained, after is of another epoch (the broker lost its data)
	// or lies beyond head, or there are more than limit of them. A position
	// is delivered to a subscription whose Subscribe returned before it was
	// published; together with Since called after that, a client resumes
	// without a gap, dropping what it receives twice by Offset.
	Since(ctx context.Context, team string, after Offset, limit int) (msgs []Message, head Offset, err error)

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
