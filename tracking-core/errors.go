package tracking

import (
	"errors"
	"fmt"
)

// Code classifies an error for the edges: the HTTP layer maps each code to a
// status once (httpapi), and clients receive it verbatim in error messages.
type Code string

const (
	CodeInvalidJSON  Code = "invalid_json"  // not a JSON object, or malformed
	CodeInvalidField Code = "invalid_field" // a field is missing, of the wrong type or out of range
	CodeTooLarge     Code = "too_large"     // a record or frame exceeds the size limit
	CodeOverloaded   Code = "overloaded"    // the replica cannot take more right now
	CodeUnavailable  Code = "unavailable"   // the broker cannot be reached
	CodeUnauthorized Code = "unauthorized"  // no or bad credentials
	CodeForbidden    Code = "forbidden"     // credentials do not allow this
	CodeNotFound     Code = "not_found"     // no such route or resource
	CodeInternal     Code = "internal"      // a bug or an unexpected failure
	CodeShuttingDown Code = "shutting_down" // the replica is draining
	CodeRateLimited  Code = "rate_limited"  // too many records per second
	CodeBadRequest   Code = "bad_request"   // the request itself (not a record) is wrong
)

// CodeNotImplemented: a feature this replica is not configured for (the
// history route without HISTORY_DSN).
const CodeNotImplemented Code = "not_implemented"

// Error is a domain error with a code, the field it concerns (if any) and a
// message meant for the client.
type Error struct {
	Code    Code
	Field   string // JSON path of the offending field, e.g. "location.latitude"
	Message string
	Err     error // wrapped cause, not shown to clients
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// fieldError reports a problem with one field of a record.
func fieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal when err carries none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// InternalMessage is all a client learns of an error that is not a domain
// error (*Error): its text may name hosts, files or queries.
const InternalMessage = "internal error"

// ErrorMessage returns the client-facing message of err: a domain error's
// field and message, InternalMessage for any other error (whoever answers a
// client with it logs the error itself).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return InternalMessage
}

var (
	// ErrClosed is returned by a Broadcaster or hub used after Close.
	ErrClosed = &Error{Code: CodeShuttingDown, Message: "closed"}
	// ErrOverloaded is returned by Publish when the send queue is full.
	ErrOverloaded = &Error{Code: CodeOverloaded, Message: "publish queue full, retry later"}
	// ErrSubscribed is returned by Subscribe for a team that already has a
	// subscription on this Broadcaster (the hub subscribes a team once).
	ErrSubscribed = &Error{Code: CodeInternal, Message: "team already subscribed on this replica"}
	// ErrGap is returned by Since when the positions after the given offset
	// are no longer all retained (older than the window, of an epoch whose
	// data is gone, or more than asked for): the stream starts over from a
	// snapshot instead.
	ErrGap = &Error{Code: CodeNotFound, Message: "positions after this stream position are no longer retained"}
)
