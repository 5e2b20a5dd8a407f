package gateway

import (
	"cmp"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// errorBody is the JSON of every error the gateway answers: the same shape as
// the tracking services' errors, plus the request id. Its message is for
// clients: a domain message, or "internal error" for anything else (whose
// details go to the log under the same request id).
type errorBody struct {
	Code      tracking.Code `json:"code"`
	Message   string        `json:"message"`
	RequestID string        `json:"requestId,omitempty"`
}

// writeError answers status with a JSON error; a 503 also gets Retry-After.
func writeError(w http.ResponseWriter, r *http.Request, status int, code tracking.Code, msg string, retryAfter time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if status == http.StatusServiceUnavailable && retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Code: code, Message: msg, RequestID: r.Header.Get(requestIDHeader)})
}

// errorForStatus is the code and message of an error known only by its
// HTTP status (one that a handler behind the gateway answered in another
// shape): the status text for a client error, "internal error" for the rest.
func errorForStatus(status int) (tracking.Code, string) {
	if status >= 500 {
		if status == http.StatusServiceUnavailable {
			return tracking.CodeUnavailable, "service unavailable"
		}
		return tracking.CodeInternal, tracking.InternalMessage
	}
	msg := cmp.Or(strings.ToLower(http.StatusText(status)), "bad request")
	return cmp.Or(clientErrorCodes[status], tracking.CodeBadRequest), msg
}

var clientErrorCodes = map[int]tracking.Code{
	http.StatusUnauthorized:          tracking.CodeUnauthorized,
	http.StatusForbidden:             tracking.CodeForbidden,
	http.StatusNotFound:              tracking.CodeNotFound,
	http.StatusRequestEntityTooLarge: tracking.CodeTooLarge,
	http.StatusTooManyRequests:       tracking.CodeRateLimited,
}

// isJSON reports whether a Content-Type is JSON.
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
