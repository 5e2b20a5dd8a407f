package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// The messages of a worker's WebSocket besides records and their errors:
//
//	server: {"type":"message","id":"m_...","body":{...},"sentAt":"...","expiresAt":"..."}
//	server: {"type":"config","interval":"1s"}
//	worker: {"type":"ack","id":"m_..."}   (and {"type":"read","id":"m_..."})
//
// A record never has a "type" field, which tells the two apart.

// AppendDispatch appends the message carrying dispatch message id (its body
// a JSON object, kept byte for byte) to dst.
func AppendDispatch(dst []byte, id string, body []byte, sentAt, expiresAt time.Time) []byte {
	dst = append(dst, `{"type":"message","id":`...)
	dst = strconv.AppendQuote(dst, id)
	dst = append(dst, `,"body":`...)
	dst = append(dst, body...)
	dst = append(dst, `,"sentAt":"`...)
	dst = appendTimeStamp(dst, sentAt)
	dst = append(dst, `","expiresAt":"`...)
	dst = appendTimeStamp(dst, expiresAt)
	return append(dst, `"}`...)
}

// AppendConfig appends the sampling advice: report every interval.
func AppendConfig(dst []byte, interval time.Duration) []byte {
	dst = append(dst, `{"type":"config","interval":"`...)
	dst = append(dst, FormatInterval(interval)...)
	return append(dst, `"}`...)
}

// FormatInterval writes an advice's interval as Go durations read it, with
// no zero units: "1s", "30s", "1m30s", "500ms".
func FormatInterval(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// AppendWorkerReply appends the worker's ack (typ TypeAck) or read receipt
// (TypeRead) of dispatch message id to dst.
func AppendWorkerReply(dst []byte, typ, id string) []byte {
	dst = append(dst, `{"type":`...)
	dst = strconv.AppendQuote(dst, typ)
	dst = append(dst, `,"id":`...)
	dst = strconv.AppendQuote(dst, id)
	return append(dst, '}')
}

var typeKey = []byte(`"type"`)

// WorkerReply is a worker's message other than records, decoded. A
// connection that carries several workers names which one replies.
type WorkerReply struct {
	Type     string `json:"type"`
	ID       string `json:"id"`
	WorkerID string `json:"workerId,omitempty"`
	Team     string `json:"team,omitempty"`
}

// DecodeWorkerReply tells whether msg (one WebSocket text message, trimmed)
// is a worker's reply rather than records: an object with a "type" field.
// ok is false for anything else (records, arrays, malformed JSON), which
// the record decoder then judges; a reply that is malformed past its type
// comes back with ok and a zero ID.
func DecodeWorkerReply(msg []byte) (WorkerReply, bool) {
	if len(msg) == 0 || msg[0] != '{' || !bytes.Contains(msg, typeKey) {
		return WorkerReply{}, false // records: nothing allocated for them
	}
	return decodeWorkerReply(msg)
}

func decodeWorkerReply(msg []byte) (WorkerReply, bool) {
	var r WorkerReply
	if err := json.Unmarshal(msg, &r); err != nil || r.Type == "" {
		return WorkerReply{}, false
	}
	return r, true
}

// A dispatch message's delivery to one worker on the manager stream
// (tracking.KindDelivery):
//
//	{"messageId":"m_...","workerId":"w-17","team":"team_one","state":"acked","at":"2026-11-22T13:21:04.123Z"}
//
// state is sent, delivered, acked, read or expired; at is when it was reached.

// Delivery is one change of a delivery, as published.
type Delivery struct {
	Team, Worker, MessageID string
	State                   string
	At                      time.Time
}

// NewDeliveryMessage returns d as it travels (tracking.KindDelivery): Time
// is At.
func NewDeliveryMessage(d Delivery, received time.Time) tracking.Message {
	b := make([]byte, 0, 112+len(d.MessageID)+len(d.Team)+len(d.Worker))
	b = append(b, `{"messageId":`...)
	b = strconv.AppendQuote(b, d.MessageID)
	b = append(b, `,"workerId":"`...)
	b = append(b, d.Worker...) // validated ids need no escaping
	b = append(b, `","team":"`...)
	b = append(b, d.Team...)
	b = append(b, `","state":`...)
	b = strconv.AppendQuote(b, d.State)
	b = append(b, `,"at":"`...)
	b = appendTimeStamp(b, d.At)
	b = append(b, '"', '}')
	return tracking.Message{Kind: tracking.KindDelivery, Team: d.Team, Worker: d.Worker,
		Time: d.At.UnixNano(), Received: received.UnixNano(), JSON: b}
}
