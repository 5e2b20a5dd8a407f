package wire

import (
	"strconv"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// The manager stream as Server-Sent Events: a retry field first, then one
// unnamed data event per position (its canonical JSON) with the position's
// stream id, heartbeat comments, and a named reconnect event before the
// server closes. A block with an id and no data ends the snapshot: browsers
// take its id as the last event id without dispatching an event, so that a
// reconnection resumes from there. A named reset event says that the stream
// could not be resumed from the id the client gave and starts from a
// snapshot instead.

// SSEReconnectEvent is the name of the event that ends a stream with a hint.
const SSEReconnectEvent = "reconnect"

// SSEStatusEvent, SSEAlertEvent and SSEDeliveryEvent name the events of a
// team's workers (tracking.KindStatus, KindAlert, KindDelivery) on the
// manager stream.
const (
	SSEStatusEvent   = "status"
	SSEAlertEvent    = "alert"
	SSEDeliveryEvent = "delivery"
)

// SSEResetEvent is the name of the event that announces a snapshot in place
// of the resumed stream the client asked for.
const SSEResetEvent = "reset"

// ResetGap is the reason of a reset: the positions after the client's id are
// no longer all retained (or the id is not one of this stream's).
const ResetGap = "not_retained"

// SSEHeartbeat is the comment the server sends to keep a stream alive.
const SSEHeartbeat = "hb"

// AppendSSERetry appends the retry field (the client's reconnect delay) to dst.
func AppendSSERetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, d.Milliseconds(), 10)
	return append(dst, '\n', '\n')
}

// AppendSSEPositions appends one data event per message of batch to dst,
// with an id field for a message with an Offset: unnamed for positions,
// named by their kind (`event: status`, `event: alert`) for events. A
// message without JSON but with an Offset (a stream mark) becomes a block
// with the id only.
func AppendSSEPositions(dst []byte, batch []tracking.Message) []byte {
	for _, m := range batch {
		if m.JSON == nil && m.Offset.IsZero() {
			continue
		}
		if m.Kind != tracking.KindPosition && m.JSON != nil {
			dst = append(dst, "event: "...)
			dst = append(dst, m.Kind.String()...)
			dst = append(dst, '\n')
		}
		if !m.Offset.IsZero() {
			dst = append(dst, "id: "...)
			dst = m.Offset.Append(dst)
			dst = append(dst, '\n')
		}
		if m.JSON != nil {
			dst = append(dst, "data: "...)
			dst = append(dst, m.JSON...)
			dst = append(dst, '\n')
		}
		dst = append(dst, '\n')
	}
	return dst
}

// AppendSSEReset appends the reset event with reason (one of the Reset*
// constants: no escaping is done) to dst.
func AppendSSEReset(dst []byte, reason string) []byte {
	dst = append(dst, "event: "+SSEResetEvent+"\ndata: {\"reason\":\""...)
	dst = append(dst, reason...)
	return append(dst, "\"}\n\n"...)
}

// AppendSSEHeartbeat appends a heartbeat comment to dst.
func AppendSSEHeartbeat(dst []byte) []byte {
	return append(dst, ": "+SSEHeartbeat+"\n\n"...)
}

// AppendSSEReconnect appends the reconnect event with reason (one of the
// Reason* constants: no escaping is done) to dst.
func AppendSSEReconnect(dst []byte, reason string) []byte {
	dst = append(dst, "event: "+SSEReconnectEvent+"\ndata: {\"reason\":\""...)
	dst = append(dst, reason...)
	return append(dst, "\"}\n\n"...)
}
