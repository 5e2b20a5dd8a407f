package alerting

import (
	"context"
	"time"
)

// Store keeps definitions, events, webhook endpoints, Web Push
// subscriptions and the delivery outbox of every team. Implementations: sqlitealerting and pgalerting; each runs the
// conformance suite in alertingtest. All methods are safe for concurrent use,
// also by several processes sharing one database (replicas).
//
// Errors: a malformed argument is a *tracking.Error with code invalid_field
// naming the field; a definition, webhook or dead letter that does not exist
// (or belongs to another team) is a *tracking.Error with code not_found.
// Anything else is the database's failure, wrapped. Times come back in UTC,
// kept at least to the microsecond.
type Store interface {
	// PutDefinition creates or replaces the definition (d.Team, d.Kind,
	// d.ID) with d.JSON, which the caller has validated. It returns the
	// definition as stored: a Version higher than every version given before
	// (by any replica) and UpdatedAt. Why: the CRUD of fences and rules.
	PutDefinition(ctx context.Context, d Definition) (Definition, error)

	// DeleteDefinition deletes a definition, keeping a tombstone (Deleted,
	// a new Version) that Changes reports until Prune removes it. Why: the
	// caches of other replicas must learn of deletions too.
	DeleteDefinition(ctx context.Context, team, kind, id string) (Definition, error)

	// GetDefinition returns one live definition.
	GetDefinition(ctx context.Context, team, kind, id string) (Definition, error)

	// ListDefinitions returns the live definitions of a team and kind, by id.
	ListDefinitions(ctx context.Context, team, kind string) ([]Definition, error)

	// Changes returns what changed after version since, for every team, so
	// that each replica's cache can poll it cheaply (an indexed range read,
	// usually empty) and catch up within one poll. Definitions come in
	// Version order, tombstones included; the ChangeSet's Version is the one
	// to pass next. A change is never skipped: versions become visible in
	// order. When since is 0, or older than a tombstone Prune removed, the
	// answer is Full: every live definition, to replace the cache with.
	Changes(ctx context.Context, since int64) (ChangeSet, error)

	// AppendEvents stores events, idempotently by (Team, ID): an event
	// already stored is left as it is and not queued again, so a batch may
	// be retried. In the same transaction, each new event is queued for
	// delivery to every enabled webhook and every push subscription of its
	// team whose Kinds match. Why:
	// GET /events reads them, and no event is stored without its deliveries
	// (or delivered without being stored).
	AppendEvents(ctx context.Context, events []Event) error

	// QueryEvents returns a team's events with From <= Time < To, in
	// (Time, ID) order, at most Limit, and the cursor of the next page;
	// following the cursors covers every event once.
	QueryEvents(ctx context.Context, q EventQuery) (EventPage, error)

	// PutWebhook creates a webhook when w.ID is empty (the store assigns a
	// unique id; w.Secret is required) or replaces webhook w.ID of w.Team
	// (not_found if there is none; an empty w.Secret keeps the stored one).
	// It returns the webhook as stored. Deliveries already queued stay
	// queued: those of a disabled webhook wait until it is enabled again.
	PutWebhook(ctx context.Context, w Webhook) (Webhook, error)

	// GetWebhook returns one webhook, secret included (callers showing it
	// to users leave the secret out). The webhook methods see webhooks
	// only: a push subscription's id is not_found to them, and ListWebhooks
	// leaves push subscriptions out.
	GetWebhook(ctx context.Context, team, id string) (Webhook, error)

	// ListWebhooks returns a team's webhooks, by creation.
	ListWebhooks(ctx context.Context, team string) ([]Webhook, error)

	// DeleteWebhook deletes a webhook with its queued deliveries and dead
	// letters.
	DeleteWebhook(ctx context.Context, team, id string) error

	// Lease hands out due deliveries (queued, not dead, due at or before
	// r.Now, of enabled webhooks), earliest due first, each leased until
	// r.Now + r.For: until then no other Lease, from this process or
	// another, hands it out again. Why: several replicas deliver from one
	// outbox without delivering the same delivery at once. A lease that
	// runs out (its holder died) makes the delivery due again.
	Lease(ctx context.Context, r LeaseRequest) ([]Delivery, error)

	// Delivered removes a delivered delivery from the outbox. When d's lease
	// is no longer held (it ran out and was handed out again) it returns
	// ErrLeaseLost and changes nothing: the new holder delivers it again,
	// which at-least-once allows.
	Delivered(ctx context.Context, d Delivery) error

	// Failed records a failed attempt of d (Attempts grows by one, LastError
	// is kept) and releases its lease: the delivery is due again at retryAt,
	// or, when retryAt is zero (the caller gave up), it becomes a dead
	// letter. ErrLeaseLost as for Delivered.
	Failed(ctx context.Context, d Delivery, retryAt time.Time, lastError string) error

	// DeadLetters returns a page of a webhook's dead letters, or a push
	// subscription's (q.Target), oldest first.
	DeadLetters(ctx context.Context, q DeadLetterQuery) (DeadLetterPage, error)

	// Replay puts dead letters of a webhook back in the outbox, due now,
	// with their attempts reset: those listed in ids, or all when ids is
	// nil. Ids that are not dead letters of that webhook are ignored. It
	// returns how many were put back.
	Replay(ctx context.Context, team, webhookID string, ids []int64) (int, error)

	// PutPushSubscription stores a team's Web Push subscription: a new one
	// (the store assigns its id; p.ID is ignored), or, when the team has one
	// with p.Endpoint already (the browser subscribed again), that one with
	// p's keys, subject and kinds, its id kept; created tells which. Why: a
	// view subscribes again on every load, and a browser's endpoint is its
	// identity. Its deliveries go through the outbox like a webhook's.
	PutPushSubscription(ctx context.Context, p PushSubscription) (saved PushSubscription, created bool, err error)

	// GetPushSubscription returns one push subscription, keys included.
	GetPushSubscription(ctx context.Context, team, id string) (PushSubscription, error)

	// ListPushSubscriptions returns a team's push subscriptions, by creation.
	ListPushSubscriptions(ctx context.Context, team string) ([]PushSubscription, error)

	// DeletePushSubscription deletes a push subscription with its queued
	// deliveries and dead letters. Why: the manager turns notifications
	// off, or the push service answers that the subscription is gone.
	DeletePushSubscription(ctx context.Context, team, id string) error

	// VAPIDKeys returns the VAPID key pair stored, storing candidate first
	// when there is none: every replica sharing the database ends with the
	// same pair, whichever stored it first, and keeps it across restarts
	// (subscriptions are bound to the key they were made with).
	VAPIDKeys(ctx context.Context, candidate VAPIDKeys) (VAPIDKeys, error)

	// Prune is retention: it deletes the events whose Time is before
	// before (with their deliveries and dead letters) and the tombstones
	// deleted before before. A cache that has not polled since is then
	// given a Full change set.
	Prune(ctx context.Context, before time.Time) error

	// Claim takes the claim name for holder until until, or renews it, when
	// it is free at now (never taken, released, or run out) or holder has it
	// already, and reports whether holder has it. Why: one replica at a time
	// evaluates a team's proximity rules, and another takes over within a
	// claim's length when it dies. Replicas' clocks should agree to well
	// within until - now. Names and holders are 1-200 bytes.
	Claim(ctx context.Context, name, holder string, now, until time.Time) (bool, error)

	// Release gives up holder's claim name; nothing when another holds it.
	Release(ctx context.Context, name, holder string) error

	// Ready returns nil when the database is reachable.
	Ready(ctx context.Context) error

	// Close releases the database. It is idempotent.
	Close() error
}
