package devices

import (
	"fmt"
	"unicode/utf8"

	tracking "github.com/teamtrack/tracking-core"
)

func invalid(field, format string, args ...any) error {
	return &tracking.Error{Code: tracking.CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the error of a device id that is not registered. Its message
// is what a phone is told, so it says what to do.
func NotFound(id string) error {
	return tracking.Errorf(tracking.CodeNotFound, "device %s is not registered (an admin registers it with POST /devices)", id)
}

// ValidID checks a device id: 1-128 bytes of [A-Za-z0-9_.:@/-]. The error
// is a *tracking.Error invalid_field naming "id".
func ValidID(id string) error { return validID("id", id) }

func validID(field, id string) error {
	if id == "" {
		return invalid(field, "is required")
	}
	if len(id) > MaxIDLen {
		return invalid(field, "must be at most %d characters, got %d", MaxIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			r, _ := utf8.DecodeRuneInString(id[i:])
			return invalid(field, "may contain only letters, digits and _.:@/- (found %q)", r)
		}
	}
	return nil
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == ':' || c == '@' || c == '/' || c == '-'
}

// ValidateSecret checks a secret an admin chooses (rather than NewSecret's):
// 16-200 bytes of UTF-8 without control characters. The error names
// "secret" and never contains the secret.
func ValidateSecret(secret string) error {
	if len(secret) < MinSecretLen || len(secret) > MaxSecretLen {
		return invalid("secret", "must be %d-%d bytes, got %d", MinSecretLen, MaxSecretLen, len(secret))
	}
	if !utf8.ValidString(secret) {
		return invalid("secret", "must be UTF-8")
	}
	for _, r := range secret {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return invalid("secret", "may not contain control characters")
		}
	}
	return nil
}

// Prepare validates d for Store.Put and returns it as the store keeps it:
// times in UTC to the microsecond, CreatedAt = UpdatedAt (the store keeps
// the stored CreatedAt on a replace), a nil SecretHash when there is none.
// Field names are those of the API's request: id, team, workerId, label,
// secret (a SecretHash not made by HashSecret), updatedAt. Backends call it
// first; handlers may call it to answer 400 before touching the store.
func Prepare(d Device) (Device, error) {
	if err := ValidID(d.ID); err != nil {
		return Device{}, err
	}
	if err := tracking.ValidTeam(d.Team); err != nil {
		return Device{}, err
	}
	if err := tracking.ValidateID("workerId", d.Worker, 64); err != nil {
		return Device{}, err
	}
	if len(d.Label) > MaxLabelLen || !utf8.ValidString(d.Label) {
		return Device{}, invalid("label", "must be at most %d bytes of UTF-8", MaxLabelLen)
	}
	if len(d.SecretHash) == 0 {
		d.SecretHash = nil
	} else if !validHash(d.SecretHash) {
		return Device{}, invalid("secret", "the stored form of a secret must come from HashSecret")
	}
	if d.UpdatedAt.IsZero() {
		return Device{}, invalid("updatedAt", "is required")
	}
	d.UpdatedAt = Stamp(d.UpdatedAt)
	d.CreatedAt = d.UpdatedAt
	return d, nil
}

// ValidateList checks List's arguments: team "" or a team name, after ""
// or a device id (field "after"), limit 1 to MaxLimit.
func ValidateList(team, after string, limit int) error {
	if team != "" {
		if err := tracking.ValidTeam(team); err != nil {
			return err
		}
	}
	if after != "" {
		if err := validID("after", after); err != nil {
			return err
		}
	}
	if limit < 1 || limit > MaxLimit {
		return invalid("limit", "must be 1-%d, got %d", MaxLimit, limit)
	}
	return nil
}
