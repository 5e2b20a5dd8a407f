package tracking

import (
	"context"
	"fmt"
)

// Address names the recipients of mail: one worker of a team, or (Worker "")
// the team as a whole (every replica holding any of its workers listens to it).
type Address struct{ Team, Worker string }

// Validate checks the team and, unless it is the team's address, the worker:
// an *Error of CodeInvalidField naming "team" or "worker".
func (a Address) Validate() error {
	if err := ValidTeam(a.Team); err != nil {
		return err
	}
	if a.Worker == "" {
		return nil
	}
	return ValidateID("worker", a.Worker, 64)
}

// String is "team/worker", or "team/" for the team's address: the form the
// brokers key mail by ('/' is in no team or worker name).
func (a Address) String() string { return a.Team + "/" + a.Worker }

// MaxMailSize is the largest payload, in bytes (64 KiB).
const MaxMailSize = 64 << 10

// CheckMail validates a Post: the address, then the payload's size (an *Error
// of CodeTooLarge naming "payload"). Adapters call it first.
func CheckMail(to Address, payload []byte) error {
	if err := to.Validate(); err != nil {
		return err
	}
	if len(payload) > MaxMailSize {
		return &Error{Code: CodeTooLarge, Field: "payload",
			Message: fmt.Sprintf("mail of %d bytes is over %d", len(payload), MaxMailSize)}
	}
	return nil
}

// Mailbox carries payloads addressed to workers (dispatch messages, sampling
// advice) from any replica to the replicas listening for the address: those
// holding the worker's connection. Delivery is live and at most once: a
// payload posted while nobody listens is gone (what must survive is kept by
// the caller's store, which resends it when the worker connects again).
// Implemented by the Broadcasters of memory, Redis and Kafka; conformance in
// broadcasttest. All methods are safe for concurrent use.
type Mailbox interface {
	// Post hands payload to every Listen of exactly `to` (a worker's address
	// does not reach the team's, nor the reverse), on any replica, whose
	// Listen returned before Post was called. Payloads posted by one replica
	// to one address arrive in the order posted. It does not wait for
	// delivery: it returns once payload is queued, and payload is the
	// caller's again (the adapter copies what it keeps).
	//
	// Errors: a bad address or an oversized payload is an *Error
	// (CodeInvalidField naming "team" or "worker", CodeTooLarge naming
	// "payload"); ErrClosed after Close; ErrOverloaded when the send queue is
	// full (nothing is sent).
	Post(ctx context.Context, to Address, payload []byte) error

	// Listen calls h with each payload posted to `to` from now on until the
	// Subscription ends (its Unsubscribe, ctx, or Close of the Broadcaster).
	// It returns once the listen is in place at the broker, or with an error
	// (the address's, as Post's; ErrClosed). After a broker outage the listen
	// resumes by itself; mail posted during it may be lost.
	//
	// Several Listens of one address on one Broadcaster are allowed (a
	// worker's old and new connections overlap): each gets every payload; the
	// adapter holds one broker subscription per address. h is called from one
	// goroutine per address at a time; it must not block nor call back into
	// the Broadcaster. h may keep payload but must not modify it: the Listens
	// of one address share the bytes.
	Listen(ctx context.Context, to Address, h func(payload []byte)) (Subscription, error)
}
