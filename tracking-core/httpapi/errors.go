package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
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
	case tracking.CodeNotImplemented:
		return http.StatusNotImplemented
	case tracking.CodeRateLimited:
		return http.StatusTooManyRequests
	case tracking.CodeOverloaded, tracking.CodeUnavailable, tracking.CodeShuttingDown:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

func writeError(w http.ResponseWriter, err error) {
	status := statusOf(tracking.ErrorCode(err))
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(2))
	}
	writeJSON(w, status, wire.NewErrorBody(err)) // whoever hands a non-domain error here logs it
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
