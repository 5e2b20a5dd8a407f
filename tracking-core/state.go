package tracking

import "context"

// StateStore keeps a small opaque state per worker at the broker, so that
// what a replica works out about a worker (which geofences it is inside,
// since when) survives the worker's moving to another replica: each
// transition is then reported once. The Redis, Kafka and memory
// Broadcasters implement it; broadcasttest checks it.
type StateStore interface {
	// SaveState stores state (at most MaxStateSize bytes) as the worker's,
	// replacing what was there. States of one worker saved from one replica
	// are kept in the order saved. A replica that loads the state right
	// after another saved it may still see the previous one for a moment
	// (Kafka: not once SaveState has returned; it waits for the broker).
	SaveState(ctx context.Context, team, worker string, state []byte) error
	// LoadState returns the worker's state, nil when there is none: never
	// saved, or not saved again for longer than the store keeps states
	// (Redis: a day; Kafka: until deleted, in a compacted topic of its own).
	LoadState(ctx context.Context, team, worker string) ([]byte, error)
}

// MaxStateSize bounds a worker's state.
const MaxStateSize = 64 << 10
