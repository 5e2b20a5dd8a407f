package apiclient

import (
	"time"

	"github.com/teamtrack/tracking-core/wire"
)

// ManagerStream is a manager's view of a team: the snapshot, then live
// positions, until the server asks the client to reconnect, the connection
// breaks, the ctx given to Watch* is done or Close is called. Next and Close
// may not be called concurrently with each other except that Close may be
// called from another goroutine to end a blocked Next.
type ManagerStream interface {
	// Next returns what the server sent next. It returns a *ReconnectError
	// when the server asks to reconnect, the ctx's error after the ctx is
	// done, and another error when the stream broke or ended unannounced.
	// The Event and its slices are valid until the following call.
	Next() (*Event, error)
	// Close ends the stream and releases its connection. Idempotent.
	Close() error
}

// Event is one step of a manager stream. Usually it carries positions; the
// other fields tell what else came, for tests that check the protocol.
type Event struct {
	// Positions are records, canonical JSON, oldest first: one per SSE data
	// event, a batch per WebSocket message.
	Positions [][]byte
	// Comments are SSE comment lines, such as the heartbeat (wire.SSEHeartbeat).
	// WebSocket heartbeats are pings, answered by the library and not seen here.
	Comments [][]byte
	// Retry is the SSE retry field, when the server sent one.
	Retry time.Duration
	// Error is set for an error message on the WebSocket (the server closes
	// right after).
	Error *wire.ErrorBody
	// ID is the stream id the event carries (SSE id field, WebSocket
	// positions id): resuming after it continues after these positions. An
	// event may carry an ID and no positions (the mark after a snapshot).
	ID string
	// Reset is set for the reset notice: the id the stream was asked to
	// resume after could not be resumed from; a snapshot follows.
	Reset bool
	// End is set for a replay's end notice, its last event.
	End *wire.ReplayEnd
	// Status and Alert are the record (canonical JSON) of a status change or
	// an alert about a worker of the team (SSE `event: status` / `alert`,
	// WebSocket {"type":"status"} / {"type":"alert"}).
	Status, Alert []byte
	// Delivery is the record of a dispatch message's delivery change (SSE
	// `event: delivery`, WebSocket {"type":"delivery"}).
	Delivery []byte
}
