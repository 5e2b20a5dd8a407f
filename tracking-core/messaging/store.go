package messaging

import (
	"context"
	"time"
)

// Store keeps the dispatch messages of every team with the delivery state
// of each recipient. Implementations: sqlitemessaging and pgmessaging;
// each runs the conformance suite in messagingtest. All methods are safe
// for concurrent use, also by several processes sharing one database
// (replicas): a state change is reported to one caller only.
//
// Errors: a malformed argument is a *tracking.Error with code invalid_field
// naming the field; a message or recipient that does not exist (or belongs
// to another team) is a *tracking.Error with code not_found. Anything else
// is the database's failure, wrapped. Times come back in UTC, to the
// microsecond. Callers pass the current time: the store never reads a clock.
type Store interface {
	// Create stores m (checked and normalised by Prepare: the id is
	// assigned when empty) with every recipient sent, in one transaction,
	// and returns it as stored. Creating a message whose (Team, ID) is
	// stored already returns the stored one, unchanged, when it is the
	// same message (see Same) and invalid_field "id" otherwise. Why: the
	// POST is retried with the same id after a timeout, and must neither
	// duplicate the message nor half-store its recipients.
	Create(ctx context.Context, m Message) (Message, error)

	// Pending returns, oldest first (CreatedAt, then ID), at most limit
	// messages of team for worker that are neither acked, read nor expired
	// and whose ExpiresAt is after now; each with one Recipient: worker's.
	// Why: what a connecting worker is sent, in order, before its live
	// messages.
	Pending(ctx context.Context, team, worker string, now time.Time, limit int) ([]Message, error)

	// Mark moves worker's recipient of message (team, id) to state, at
	// time at, and reports whether it changed. Only forward (see the
	// package doc): a mark to the state it is in or one before it changes
	// nothing; a mark that would make the recipient delivered or acked
	// (delivered, acked, or read of one not acked yet) changes nothing once
	// it is expired or at is not before ExpiresAt, while read of an acked
	// one still does; expired only from sent or delivered (at any time: a
	// caller may withdraw a message early). Skipped states get the time at
	// too. not_found when there is no such message or recipient. Why: the worker's delivery and acks
	// become state, and changed=true tells the one caller (of concurrent
	// replicas) that publishes the event.
	Mark(ctx context.Context, team, id, worker string, state State, at time.Time) (changed bool, err error)

	// Get returns a message with every recipient's state, in the order
	// given at Create. A recipient past ExpiresAt is still sent or
	// delivered until Expire runs. Why: GET /tracking/{team}/messages/{id}.
	Get(ctx context.Context, team, id string) (Message, error)

	// Expire marks expired, at most limit of, the recipients whose message's
	// ExpiresAt is at or before now and that are still sent or delivered,
	// and returns them, ordered by (At, Team, ID, Worker). A recipient is
	// returned once: a second call does not return it again, from this
	// replica or another. Why: the caller publishes the expired events.
	Expire(ctx context.Context, now time.Time, limit int) ([]Expired, error)

	// Prune deletes the messages (with their recipients) whose ExpiresAt
	// is before before. Why: retention; a message past its ttl is only
	// kept for GET, for as long as the caller's retention says.
	Prune(ctx context.Context, before time.Time) error

	// Ready returns nil when the database is reachable.
	Ready(ctx context.Context) error

	// Close releases the database. It is idempotent.
	Close() error
}
