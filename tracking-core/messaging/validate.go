package messaging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	tracking "github.com/teamtrack/tracking-core"
)

func invalid(field, format string, args ...any) error {
	return &tracking.Error{Code: tracking.CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the error of a message, or recipient, that does not exist
// (or belongs to another team).
func NotFound(team, id string) error {
	return tracking.Errorf(tracking.CodeNotFound, "no message %s in team %s", id, team)
}

// Prepare validates m for Store.Create and returns it as the store keeps
// it: an id assigned when empty, times in UTC to the microsecond, every
// recipient sent with no times. Field names are those of the API's request
// ("to" for the recipients, "ttl" for ExpiresAt - CreatedAt). Backends call
// it first; handlers may call it to answer 400 before touching the store.
func Prepare(m Message) (Message, error) {
	if err := tracking.ValidTeam(m.Team); err != nil {
		return Message{}, err
	}
	if m.ID == "" {
		m.ID = tracking.NewID()
	} else if err := tracking.ValidateID("id", m.ID, 64); err != nil {
		return Message{}, err
	}
	if m.Sender == "" || len(m.Sender) > 200 || !utf8.ValidString(m.Sender) {
		return Message{}, invalid("sender", "must be 1-200 bytes of UTF-8")
	}
	if err := ValidateBody(m.Body); err != nil {
		return Message{}, err
	}
	if m.CreatedAt.IsZero() {
		return Message{}, invalid("createdAt", "is required")
	}
	m.CreatedAt, m.ExpiresAt = Stamp(m.CreatedAt), Stamp(m.ExpiresAt)
	if ttl := m.ExpiresAt.Sub(m.CreatedAt); ttl < MinTTL || ttl > MaxTTL {
		return Message{}, invalid("ttl", "must be between %s and %s, got %s", MinTTL, "168h (7 days)", ttl)
	}
	if len(m.Recipients) == 0 || len(m.Recipients) > MaxRecipients {
		return Message{}, invalid("to", "must name 1-%d workers, got %d", MaxRecipients, len(m.Recipients))
	}
	seen := make(map[string]struct{}, len(m.Recipients))
	rs := make([]Recipient, len(m.Recipients))
	for i, r := range m.Recipients {
		field := fmt.Sprintf("to[%d]", i)
		if err := tracking.ValidateID(field, r.Worker, 64); err != nil {
			return Message{}, err
		}
		if _, dup := seen[r.Worker]; dup {
			return Message{}, invalid(field, "worker %s is named twice", r.Worker)
		}
		seen[r.Worker] = struct{}{}
		rs[i] = Recipient{Worker: r.Worker, State: StateSent}
	}
	m.Recipients = rs
	return m, nil
}

// ValidateBody checks that body is a JSON object of at most MaxBodyBytes.
func ValidateBody(body json.RawMessage) error {
	if len(body) > MaxBodyBytes {
		return invalid("body", "must be at most %d bytes, got %d", MaxBodyBytes, len(body))
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(body) {
		return invalid("body", "must be a JSON object")
	}
	return nil
}

// Same reports whether a and b (both prepared) are the same message for
// the idempotency of Create: same sender, body, ttl and recipients. The
// creation time may differ, since a retry is stamped again.
func Same(a, b Message) bool {
	if a.Sender != b.Sender || !bytes.Equal(a.Body, b.Body) ||
		a.ExpiresAt.Sub(a.CreatedAt) != b.ExpiresAt.Sub(b.CreatedAt) || len(a.Recipients) != len(b.Recipients) {
		return false
	}
	for i := range a.Recipients {
		if a.Recipients[i].Worker != b.Recipients[i].Worker {
			return false
		}
	}
	return true
}

// ErrNotSame is the error of a Create whose id names a different message.
func ErrNotSame(id string) error {
	return invalid("id", "message %s exists already with another content", id)
}

// ValidateKey checks the team, id and worker that name a recipient.
func ValidateKey(team, id, worker string) error {
	if err := tracking.ValidTeam(team); err != nil {
		return err
	}
	if err := tracking.ValidateID("id", id, 64); err != nil {
		return err
	}
	if worker != "" {
		return tracking.ValidateID("worker", worker, 64)
	}
	return nil
}

// ValidatePending checks Pending's arguments.
func ValidatePending(team, worker string, limit int) error {
	if err := tracking.ValidTeam(team); err != nil {
		return err
	}
	if err := tracking.ValidateID("worker", worker, 64); err != nil {
		return err
	}
	return ValidateLimit(limit)
}

// ValidateLimit checks a page size: 1 to MaxLimit.
func ValidateLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return invalid("limit", "must be 1-%d, got %d", MaxLimit, limit)
	}
	return nil
}

// ValidateMark checks Mark's arguments: the key, a target state other
// than sent, and a time.
func ValidateMark(team, id, worker string, state State, at time.Time) error {
	if err := tracking.ValidTeam(team); err != nil {
		return err
	}
	if err := tracking.ValidateID("id", id, 64); err != nil {
		return err
	}
	if err := tracking.ValidateID("worker", worker, 64); err != nil {
		return err
	}
	if state.Rank() < 1 {
		return invalid("state", "must be delivered, acked, read or expired, got %q", state)
	}
	if at.IsZero() {
		return invalid("at", "is required")
	}
	return nil
}
