package wire

import (
	"bytes"
	"encoding/json"
	"fmt"

	tracking "github.com/teamtrack/tracking-core"
)

// Types of the JSON messages the server sends on a WebSocket.
const (
	TypePositions = "positions" // manager stream: a batch of records, oldest first
	TypeReconnect = "reconnect" // the stream ends: come back later
	TypeError     = "error"     // a rejected record (worker) or a refused watch (manager)
)

// ServerMessage is one text message from the server on a WebSocket, decoded.
// Which fields are set depends on Type.
type ServerMessage struct {
	Type string
	// Positions are the records of a positions message, canonical JSON,
	// undecoded. They alias the decoded message's bytes.
	Positions [][]byte
	// Reason is why a reconnect message asks to reconnect (Reason* constants).
	Reason string
	// Error is the body of an error message.
	Error ErrorBody
}

var positionsPrefix = []byte(`{"type":"positions","positions":`)

// AppendPositions appends the manager stream's positions message carrying
// batch (each Message's JSON, in order) to dst.
func AppendPositions(dst []byte, batch []tracking.Message) []byte {
	dst = append(dst, positionsPrefix...)
	return append(AppendRecords(dst, batch), '}')
}

// AppendRecords appends the JSON array of batch's records (each Message's
// JSON, in order) to dst.
func AppendRecords(dst []byte, batch []tracking.Message) []byte {
	dst = append(dst, '[')
	for i, m := range batch {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m.JSON...)
	}
	return append(dst, ']')
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
	m.Type, m.Reason, m.Error = "", "", ErrorBody{}
	m.Positions = m.Positions[:0]
	if rest, ok := bytes.CutPrefix(msg, positionsPrefix); ok {
		end := bytes.LastIndexByte(rest, '}')
		if end >= 0 {
			var err error
			if m.Positions, err = AppendArrayElements(m.Positions, rest[:end]); err == nil {
				m.Type = TypePositions
				return nil
			}
		}
		m.Positions = m.Positions[:0]
	}
	var v struct {
		Type      string            `json:"type"`
		Positions []json.RawMessage `json:"positions"`
		Reason    string            `json:"reason"`
		ErrorBody
	}
	if err := json.Unmarshal(msg, &v); err != nil {
		return fmt.Errorf("decode server message: %w", err)
	}
	m.Type, m.Reason, m.Error = v.Type, v.Reason, v.ErrorBody
	m.Error.Type = ""
	for _, p := range v.Positions {
		m.Positions = append(m.Positions, p)
	}
	return nil
}
