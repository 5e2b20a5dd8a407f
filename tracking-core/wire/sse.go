package wire

import (
	"strconv"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// The manager stream as Server-Sent Events: a retry field first, then one
// unnamed data event per position (its canonical JSON), heartbeat comments,
// and a named reconnect event before the server closes.

// SSEReconnectEvent is the name of the event that ends a stream with a hint.
const SSEReconnectEvent = "reconnect"

// SSEHeartbeat is the comment the server sends to keep a stream alive.
const SSEHeartbeat = "hb"

// AppendSSERetry appends the retry field (the client's reconnect delay) to dst.
func AppendSSERetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, d.Milliseconds(), 10)
	return append(dst, '\n', '\n')
}

// AppendSSEPositions appends one data event per message of batch to dst.
func AppendSSEPositions(dst []byte, batch []tracking.Message) []byte {
	for _, m := range batch {
		dst = append(dst, "data: "...)
		dst = append(dst, m.JSON...)
		dst = append(dst, '\n', '\n')
	}
	return dst
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
