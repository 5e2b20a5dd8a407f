package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	tracking "github.com/teamtrack/tracking-core"
)

// statusOf maps an error code to its HTTP status: the one place where it is done.
func statusOf(code tracking.Code) int {
	switch code {
	case tracking.CodeInvalidJSON, tracking.CodeInvalidField, tracking.CodeBadRequest:
		return http.StatusBadRequest
	case tracking.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case tracking.CodeUnauthorized:
		return http.StatusUnauthorized
	case tracking.CodeForbidden:
		return http.StatusForbidden
	case tracking.CodeNotFound:
		return http.StatusNotFound
	case tracking.CodeRateLimited:
		return http.StatusTooManyRequests
	case tracking.CodeOverloaded, tracking.CodeUnavailable, tracking.CodeShuttingDown:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the JSON of every error answer and error message.
type errorBody struct {
	Type    string `json:"type,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`
	Record  int    `json:"record,omitempty"`
}

// internalMessage is all a client learns of an error that is not a domain
// error (*tracking.Error): its text may name hosts, files or queries.
const internalMessage = "internal error"

// newErrorBody is err as clients see it: a domain error's code and message,
// or code internal and "internal error" for any other error. Whoever hands a
// non-domain error here logs it.
func newErrorBody(err error) errorBody {
	var te *tracking.Error
	if !errors.As(err, &te) {
		return errorBody{Code: string(tracking.CodeInternal), Message: internalMessage}
	}
	return errorBody{Code: string(te.Code), Message: tracking.ErrorMessage(te)}
}

func writeError(w http.ResponseWriter, err error) {
	status := statusOf(tracking.ErrorCode(err))
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(2))
	}
	writeJSON(w, status, newErrorBody(err))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
