package devices

import "context"

// Store keeps the registered devices of every team. Implementations:
// sqlitedevices and pgdevices; each runs the conformance suite in
// devicestest. All methods are safe for concurrent use, also by several
// processes sharing one database (replicas).
//
// Errors: a malformed argument is a *tracking.Error with code invalid_field
// naming the field; a device that is not registered is a *tracking.Error
// with code not_found (NotFound). After Close every method returns
// ErrClosed (Close itself nil). Anything else is the database's failure,
// wrapped. Times come back in UTC, to the microsecond. Callers pass the
// current time (Device.UpdatedAt of Put): the store never reads a clock.
type Store interface {
	// Put registers d (checked and normalised by Prepare), or replaces the
	// device stored under d.ID, whole: team, worker, label and SecretHash
	// (an empty one removes the secret; to keep it, pass the stored one).
	// It returns the device as stored and whether it was created. A new
	// device gets CreatedAt = d.UpdatedAt; a replaced one keeps its
	// CreatedAt (d.CreatedAt is ignored). Of concurrent Puts of one new id,
	// one creates and the others replace; the last one wins, whatever its
	// UpdatedAt (so, with the callers' clocks, a replace may be stamped
	// before CreatedAt). Why: POST
	// /devices by an admin, which is also how a secret is rotated or a
	// phone handed to another worker.
	Put(ctx context.Context, d Device) (stored Device, created bool, err error)

	// Get returns the device registered under id, not_found if none. Why:
	// each report of a phone is checked against its device (through Cache)
	// and GET /devices/{id}.
	Get(ctx context.Context, id string) (Device, error)

	// List returns at most limit (1 to MaxLimit) devices ordered by ID
	// (byte order) whose ID is after after ("" from the start), of team,
	// or of every team when team is "". The next page is after the last ID
	// returned; a short page is the last. Why: GET /devices for the admins.
	List(ctx context.Context, team, after string, limit int) ([]Device, error)

	// Delete removes the device registered under id, not_found if none.
	// Why: DELETE /devices/{id}, a lost or retired phone; its reports are
	// refused from then on (by each replica's Cache within its TTL).
	Delete(ctx context.Context, id string) error

	// Ready returns nil when the database is reachable.
	Ready(ctx context.Context) error

	// Close releases the database. It is idempotent.
	Close() error
}
