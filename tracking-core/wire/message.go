package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// Types of the JSON messages the server sends on a WebSocket.
const (
	TypePositions = "positions" // manager stream: a batch of records, oldest first
	TypeReconnect = "reconnect" // the stream ends: come back later
	TypeError     = "error"     // a rejected record (worker) or a refused watch (manager)
	TypeReset     = "reset"     // manager stream: the resume asked for is not possible; a snapshot follows
	TypeStatus    = "status"    // manager stream: a worker's presence status changed
	TypeAlert     = "alert"     // manager stream: an alert about a worker
	TypeDelivery  = "delivery"  // manager stream: a dispatch message's delivery to a worker changed
	TypeMessage   = "message"   // worker WebSocket: a dispatch message from the team's manager
	TypeConfig    = "config"    // worker WebSocket: sampling advice (how often to report)
)

// Types of the JSON messages a worker sends on its WebSocket besides records.
const (
	TypeAck  = "ack"  // the worker got a dispatch message
	TypeRead = "read" // the worker's user read it
)

// ServerMessage is one text message from the server on a WebSocket, decoded.
// Which fields are set depends on Type.
type ServerMessage struct {
	Type string
	// Positions are the records of a positions message, canonical JSON,
	// undecoded. They alias the decoded message's bytes.
	Positions [][]byte
	// ID is the stream id of a positions message: resuming after it (the
	// since parameter) continues after its last position.
	ID string
	// Reason is why a reconnect message asks to reconnect (Reason* constants)
	// or why a reset message resets (Reset* constants).
	Reason string
	// Error is the body of an error message.
	Error ErrorBody
	// End is the body of a replay's end message.
	End ReplayEnd
	// Event is the record of a status, alert or delivery message (its
	// canonical JSON), undecoded; it aliases the decoded message's bytes.
	Event []byte
	// Body is a dispatch message's body (ID is its id), undecoded.
	Body []byte
	// SentAt and ExpiresAt are a dispatch message's times (zero otherwise).
	SentAt, ExpiresAt time.Time
	// Interval is a config message's advice: how often to report.
	Interval string
}

var (
	endPrefix       = []byte(`{"type":"end",`)
	positionsPrefix = []byte(`{"type":"positions",`)
	positionsKey    = []byte(`"positions":`)
	idKey           = []byte(`"id":"`)
)

// AppendPositions appends the manager stream's positions message carrying
// batch (each Message's JSON, in order) to dst, with the id of the last
// message that has an Offset. Messages without JSON (stream marks) carry
// only their Offset.
func AppendPositions(dst []byte, batch []tracking.Message) []byte {
	dst = append(dst, positionsPrefix...)
	for i := len(batch) - 1; i >= 0; i-- {
		if off := batch[i].Offset; !off.IsZero() {
			dst = append(dst, idKey...)
			dst = append(off.Append(dst), '"', ',')
			break
		}
	}
	dst = append(dst, positionsKey...)
	return append(AppendRecords(dst, batch), '}')
}

// AppendEvent appends the manager stream's message carrying the event m (a
// status or an alert) to dst: {"type":"status","id":"...","status":{...}},
// the id being m's stream id when it has one.
func AppendEvent(dst []byte, m tracking.Message) []byte {
	kind := m.Kind.String()
	dst = append(dst, `{"type":"`...)
	dst = append(dst, kind...)
	dst = append(dst, '"', ',')
	if !m.Offset.IsZero() {
		dst = append(dst, idKey...)
		dst = append(m.Offset.Append(dst), '"', ',')
	}
	dst = append(dst, '"')
	dst = append(dst, kind...)
	dst = append(dst, '"', ':')
	dst = append(dst, m.JSON...)
	return append(dst, '}')
}

// AppendRecords appends the JSON array of batch's records (each Message's
// JSON, in order; those without JSON are left out) to dst.
func AppendRecords(dst []byte, batch []tracking.Message) []byte {
	dst = append(dst, '[')
	first := true
	for _, m := range batch {
		if m.JSON == nil {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, m.JSON...)
	}
	return append(dst, ']')
}

// AppendReset appends a reset message with reason (one of the Reset*
// constants: no escaping is done) to dst.
func AppendReset(dst []byte, reason string) []byte {
	dst = append(dst, `{"type":"reset","reason":"`...)
	dst = append(dst, reason...)
	return append(dst, `"}`...)
}

// AppendReconnect appends a reconnect message with reason (one of the
// Reason* constants: no escaping is done) to dst.
func AppendReconnect(dst []byte, reason string) []byte {
	dst = append(dst, `{"type":"reconnect","reason":"`...)
	dst = append(dst, reason...)
	return append(dst, `"}`...)
}

// AppendError appends an error message ({"type":"error",...}) for e to dst.
func AppendError(dst []byte, e ErrorBody) []byte {
	e.Type = TypeError
	b, err := json.Marshal(e)
	if err != nil { // only strings and an int: cannot happen
		panic(fmt.Sprintf("wire: encode error message: %v", err))
	}
	return append(dst, b...)
}

// DecodeServerMessage decodes one text message into m, reusing m.Positions'
// storage. A positions message in the server's own form is split without
// decoding the records, which then alias msg; anything else goes through
// encoding/json.
func DecodeServerMessage(m *ServerMessage, msg []byte) error {
	m.Type, m.ID, m.Reason, m.Error, m.End, m.Event = "", "", "", ErrorBody{}, ReplayEnd{}, nil
	m.Body, m.SentAt, m.ExpiresAt = nil, time.Time{}, time.Time{}
	m.Positions = m.Positions[:0]
	if rest, ok := bytes.CutPrefix(msg, positionsPrefix); ok {
		if after, ok := bytes.CutPrefix(rest, idKey); ok {
			if id, tail, ok := bytes.Cut(after, []byte{'"'}); ok {
				m.ID = string(id)
				rest, _ = bytes.CutPrefix(tail, []byte{','})
			}
		}
		rest, ok = bytes.CutPrefix(rest, positionsKey)
		end := bytes.LastIndexByte(rest, '}')
		if ok && end >= 0 {
			var err error
			if m.Positions, err = AppendArrayElements(m.Positions, rest[:end]); err == nil {
				m.Type = TypePositions
				return nil
			}
		}
		m.Positions = m.Positions[:0]
	}
	if bytes.HasPrefix(msg, endPrefix) { // its positions is a count
		m.Type = TypeEnd
		if err := json.Unmarshal(msg, &m.End); err != nil {
			return fmt.Errorf("decode server message: %w", err)
		}
		return nil
	}
	var v struct {
		Type      string          `json:"type"`
		ID        string          `json:"id"`
		Positions json.RawMessage `json:"positions"` // an array, or an end's count
		Reason    string          `json:"reason"`
		Status    json.RawMessage `json:"status"`
		Alert     json.RawMessage `json:"alert"`
		Delivery  json.RawMessage `json:"delivery"`
		Body      json.RawMessage `json:"body"`
		SentAt    time.Time       `json:"sentAt"`
		ExpiresAt time.Time       `json:"expiresAt"`
		Interval  string          `json:"interval"`
		ErrorBody
	}
	if err := json.Unmarshal(msg, &v); err != nil {
		return fmt.Errorf("decode server message: %w", err)
	}
	m.Type, m.ID, m.Reason, m.Error = v.Type, v.ID, v.Reason, v.ErrorBody
	m.Error.Type = ""
	switch v.Type {
	case TypeError: // "id" is the rejected record's (the outer field took it)
		m.Error.ID, m.ID = v.ID, ""
	case TypeStatus:
		m.Event = v.Status
	case TypeAlert:
		m.Event = v.Alert
	case TypeDelivery:
		m.Event = v.Delivery
	case TypeMessage:
		m.Body, m.SentAt, m.ExpiresAt = v.Body, v.SentAt, v.ExpiresAt
	case TypeConfig:
		m.Interval = v.Interval
	}
	if v.Type == TypeEnd { // its members in another order than the server's
		if err := json.Unmarshal(msg, &m.End); err != nil {
			return fmt.Errorf("decode server message: %w", err)
		}
		return nil
	}
	if len(v.Positions) > 0 {
		var ps []json.RawMessage
		if err := json.Unmarshal(v.Positions, &ps); err != nil {
			return fmt.Errorf("decode server message: positions: %w", err)
		}
		for _, p := range ps {
			m.Positions = append(m.Positions, p)
		}
	}
	return nil
}
