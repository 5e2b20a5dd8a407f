package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// errorBody is the JSON of every error the gateway answers itself: the same
// shape as the tracking services' errors, plus the request id.
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
	if status == http.StatusServiceUnavailable && retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Code: code, Message: msg, RequestID: r.Header.Get(requestIDHeader)})
}
