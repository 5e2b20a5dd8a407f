package alerting

import (
	"errors"
	"time"
)

// Kinds of definitions.
const (
	KindFence = "fence"
	KindRule  = "rule"
)

// Definition is a team-scoped JSON document of a kind (a fence, a rule).
type Definition struct {
	Team, Kind, ID string
	// JSON is the document, opaque to the store (validated by the caller);
	// nil in a tombstone.
	JSON []byte
	// Version is assigned by the store at each change: higher than every
	// version before, across all teams and kinds.
	Version int64
	// UpdatedAt is when the store applied the change.
	UpdatedAt time.Time
	// Deleted marks a tombstone (only in Changes).
	Deleted bool
}

// ChangeSet is an answer of Store.Changes.
type ChangeSet struct {
	// Definitions changed after the version asked for, in Version order.
	Definitions []Definition
	// Version is what to pass to the next call.
	Version int64
	// Full: Definitions are every live definition; replace the cache with
	// them rather than applying them to it.
	Full bool
}

// Event is an alert event as the engine produced it.
type Event struct {
	// ID is stable: the same event produced again has the same id, and
	// receivers of webhooks de-duplicate on it. 1-128 chars of [A-Za-z0-9_.:-].
	ID     string
	Team   string
	Worker string
	// Kind is the event's kind (enter, exit, dwell, apart, alone...), which
	// webhooks filter on: 1-32 chars of [a-z_].
	Kind string
	// Time is when the event happened.
	Time time.Time
	// JSON is the event's canonical record, opaque to the store: what
	// /events answers and what a webhook's body is, byte for byte.
	JSON []byte
}

// EventQuery selects events of one team.
type EventQuery struct {
	Team string
	// From <= Time < To.
	From, To time.Time
	// Limit is the most events a page holds; positive.
	Limit int
	// Cursor is a previous page's Next; empty: from the start.
	Cursor string
}

// EventPage is one page of a query.
type EventPage struct {
	Events []Event
	// Next is the Cursor of the following page; "" on the last one.
	Next string
}

// Webhook is an endpoint of a team that events are POSTed to.
type Webhook struct {
	Team string
	// ID is assigned by the store.
	ID  string
	URL string
	// Secret keys the HMAC-SHA256 signature of each body: 16 to 256 bytes.
	// It is write-only in the API (never shown again).
	Secret string
	// Kinds, when not empty, are the only event kinds delivered.
	Kinds   []string
	Enabled bool
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

// Kinds of delivery targets: every webhook and push subscription of a team
// is a target in one outbox (the alert_webhooks table), so that both get the
// same leases, retries, backoff and dead letters.
const (
	TargetWebhook = "webhook" // an endpoint events are POSTed to, signed
	TargetWebPush = "webpush" // a browser's Web Push subscription
)

// PushSubscription is a browser's Web Push subscription (the
// PushSubscription of the Push API, RFC 8030) for a team: each event of the
// team is encrypted to its keys (RFC 8291) and POSTed to its endpoint, signed
// with the service's VAPID key (RFC 8292), by webpush.Sender.
type PushSubscription struct {
	Team string
	// ID is assigned by the store ("ps_...").
	ID string
	// Endpoint is the push service's URL for this browser: the
	// subscription's identity (a team has one subscription per endpoint).
	Endpoint string
	// P256dh is the browser's P-256 public key (65 bytes, uncompressed) and
	// Auth its 16-byte authentication secret, each in unpadded base64url as
	// stored (Validate normalises other base64 forms).
	P256dh, Auth string
	// Subject is who subscribed: the token's subject ("" without tokens).
	Subject string
	// Kinds, when not empty, are the only event kinds pushed.
	Kinds []string
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

// VAPIDKeys is the application server's key pair (RFC 8292) that signs
// every push and that browsers subscribe with (applicationServerKey), in
// unpadded base64url: Public is the uncompressed P-256 point (65 bytes),
// Private the scalar (32 bytes).
type VAPIDKeys struct {
	Public, Private string
}

// IsZero reports whether k holds no key.
func (k VAPIDKeys) IsZero() bool { return k.Public == "" && k.Private == "" }

// LeaseRequest asks Store.Lease for deliveries.
type LeaseRequest struct {
	// Now is the caller's clock: deliveries due at or before it are handed
	// out, leased until Now + For. Replicas' clocks should agree to well
	// within For.
	Now time.Time
	For time.Duration
	// Max is the most deliveries handed out; positive.
	Max int
	// PerWebhook, when positive, is the most deliveries of one webhook
	// handed out by this call, so that one endpoint's backlog does not take
	// every slot.
	PerWebhook int
	// Skip are webhook ids to leave alone: those whose deliveries the caller
	// has as many of in hand as it will send at once.
	Skip []string
}

// Delivery is one event to send to one target (a webhook or a push
// subscription), as leased.
type Delivery struct {
	ID   int64
	Team string
	// WebhookID is the target's id: a webhook's, or a push subscription's
	// when Target is TargetWebPush.
	WebhookID string
	// Target is TargetWebhook or TargetWebPush.
	Target string
	// URL is the webhook's URL or the push subscription's endpoint.
	URL string
	// Secret is a webhook's; P256dh and Auth a push subscription's keys.
	Secret       string
	P256dh, Auth string
	Event        Event
	// Attempts is how many attempts failed before this lease.
	Attempts int
	// LeaseUntil is when the lease runs out: the holder must be done before.
	LeaseUntil time.Time
	// Lease identifies this lease (Delivered and Failed check it).
	Lease string
}

// DeadLetterQuery selects dead letters of one webhook, or of one push
// subscription.
type DeadLetterQuery struct {
	Team, WebhookID string
	// Target is the kind of WebhookID: TargetWebhook (or empty) or
	// TargetWebPush. The id of a target of the other kind is not_found.
	Target string
	// Limit is the most a page holds; positive.
	Limit int
	// Cursor is a previous page's Next; empty: from the oldest.
	Cursor string
}

// DeadLetter is a delivery that failed every attempt.
type DeadLetter struct {
	// ID is the delivery's id: what Replay takes.
	ID        int64
	WebhookID string
	Event     Event
	Attempts  int
	LastError string
	// DeadAt is when it gave up.
	DeadAt time.Time
}

// DeadLetterPage is one page of dead letters.
type DeadLetterPage struct {
	DeadLetters []DeadLetter
	Next        string
}

// ErrLeaseLost is returned by Delivered and Failed when the caller's lease
// has run out and the delivery was leased again (or removed).
var ErrLeaseLost = errors.New("alerting: delivery lease lost")

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("alerting: store closed")
