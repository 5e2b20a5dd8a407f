package wire

import (
	"encoding/json"
	"fmt"

	tracking "github.com/teamtrack/tracking-core"
)

// ErrorBody is the JSON of every error: the answer to a refused request, an
// error message on a WebSocket (with Type "error") and each entry of an
// IngestAnswer's Errors (with Record).
type ErrorBody struct {
	Type    string `json:"type,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`     // the record's id, when known
	Record  int    `json:"record,omitempty"` // 1-based index of the record in a POST body
}

// NewErrorBody returns the client-facing body of err: its code and message.
func NewErrorBody(err error) ErrorBody {
	return ErrorBody{Code: string(tracking.ErrorCode(err)), Message: tracking.ErrorMessage(err)}
}

// Error makes an ErrorBody received by a client usable as an error.
func (e ErrorBody) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("%s: %s (record id %s)", e.Code, e.Message, e.ID)
	}
	return e.Code + ": " + e.Message
}

// IngestAnswer is the answer to a POST of records once its body ends.
type IngestAnswer struct {
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected"`
	Errors   []ErrorBody `json:"errors"` // the first few rejections, in order
	// Reconnect is set when the server cut the body short (Reason says why):
	// the client should reconnect to send the rest.
	Reconnect bool   `json:"reconnect,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Config is the sampling advice of the workers' team when the body
	// ended, when the service gives advice: a POST cannot be told while it
	// streams, so the next one should report at this interval.
	Config *Advice `json:"config,omitempty"`
}

// Advice is sampling advice: how often a worker should report.
type Advice struct {
	Interval string `json:"interval"`
}

// DecodeIngestAnswer decodes the body of a POST's answer.
func DecodeIngestAnswer(b []byte) (IngestAnswer, error) {
	var a IngestAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("decode ingest answer: %w", err)
	}
	return a, nil
}
