package apiclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/teamtrack/tracking-core/wire"
)

// ReconnectError ends a connection that the server asked the client to
// reconnect (through the gateway, to whichever replica it picks).
type ReconnectError struct {
	// Reason is the server's (wire.Reason*), or what the client saw when the
	// server said nothing: "close 1012" for a WebSocket closed as service
	// restart, "ended by server" for a POST body cut short.
	Reason string
}

func (e *ReconnectError) Error() string { return "server asked to reconnect: " + e.Reason }

// IsReconnect reports whether err is (or wraps) a *ReconnectError.
func IsReconnect(err error) bool {
	var r *ReconnectError
	return errors.As(err, &r)
}

// StatusError is a request the server answered with a status other than the
// expected one: a refusal (401, 403, 429, 503...) before or instead of a stream.
type StatusError struct {
	Method, URL string // URL without its query
	StatusCode  int
	Status      string
	// Body is the error answer, when the server sent one in the API's shape.
	Body wire.ErrorBody
	// Text is the start of the answer's body, whatever its shape.
	Text string
}

func (e *StatusError) Error() string {
	msg := e.Body.Message
	if msg == "" {
		msg = e.Text
	}
	if msg == "" {
		return fmt.Sprintf("%s %s: %s", e.Method, e.URL, e.Status)
	}
	return fmt.Sprintf("%s %s: %s: %s", e.Method, e.URL, e.Status, msg)
}

// newStatusError makes a *StatusError of resp, reading up to 64 KiB of its
// body when body is nil.
func newStatusError(method, url string, resp *http.Response, body []byte) *StatusError {
	e := &StatusError{Method: method, URL: redact(url), StatusCode: resp.StatusCode, Status: resp.Status}
	if body == nil && resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	}
	b := bytes.TrimSpace(body)
	_ = json.Unmarshal(b, &e.Body)
	if len(b) > 512 {
		b = append(b[:512:512], "..."...)
	}
	e.Text = string(b)
	return e
}
