package wire

import "strconv"

// A replay (GET /tracking/{team}/replay) is framed like the live stream and
// ends with an end notice: `event: end` on SSE, {"type":"end"} on a
// WebSocket, carrying how many positions were sent and, when the replay
// stopped short because history could not be read, an error message. A
// browser's EventSource must be closed on it: it would otherwise reconnect
// and start the replay over.

// SSEEndEvent is the name of the event that ends a replay.
const SSEEndEvent = "end"

// TypeEnd is the type of the WebSocket message that ends a replay.
const TypeEnd = "end"

// ReplayEnd is the body of the end notice.
type ReplayEnd struct {
	Positions int    `json:"positions"`
	Error     string `json:"error,omitempty"`
}

// AppendSSEEnd appends the end event of a replay to dst.
func AppendSSEEnd(dst []byte, e ReplayEnd) []byte {
	dst = append(dst, "event: "+SSEEndEvent+"\ndata: "...)
	dst = appendEndBody(dst, e, "")
	return append(dst, '\n', '\n')
}

// AppendEnd appends the end message of a replay on a WebSocket to dst.
func AppendEnd(dst []byte, e ReplayEnd) []byte {
	return appendEndBody(dst, e, TypeEnd)
}

func appendEndBody(dst []byte, e ReplayEnd, typ string) []byte {
	dst = append(dst, '{')
	if typ != "" {
		dst = append(dst, `"type":`...)
		dst = strconv.AppendQuote(dst, typ)
		dst = append(dst, ',')
	}
	dst = append(dst, `"positions":`...)
	dst = strconv.AppendInt(dst, int64(e.Positions), 10)
	if e.Error != "" {
		dst = append(dst, `,"error":`...)
		dst = strconv.AppendQuote(dst, e.Error)
	}
	return append(dst, '}')
}
