package devices

import (
	"errors"
	"time"
)

// Limits of a device.
const (
	MaxIDLen     = 128  // bytes of a device id
	MaxLabelLen  = 200  // bytes of a label
	MinSecretLen = 16   // bytes of a secret an admin chooses
	MaxSecretLen = 200  // bytes of a secret an admin chooses
	MaxLimit     = 1000 // the largest page of Store.List
)

// Device is one registered phone.
type Device struct {
	// ID is what the phone sends: an OsmAnd id ("123456", "phone-7") or an
	// OwnTracks user and device joined by '/' (see OwnTracksID). 1-128
	// bytes of [A-Za-z0-9_.:@/-]; compared byte for byte.
	ID string
	// Team and Worker are whom the phone's positions are for: a team
	// name (tracking.ValidTeam) and a worker id (at most 64 bytes of
	// tracking's id characters). Several devices may name one worker.
	Team, Worker string
	// Label is for the admins ("Ana's Pixel 8"): optional, at most 200
	// bytes of UTF-8.
	Label string
	// SecretHash is HashSecret of the device's secret. Empty means the
	// device has no secret: CheckSecret never accepts one for it, so it can
	// only report with a token that names its worker (the caller's
	// choice). It is never serialised (json:"-"): an API answer must not
	// show it, not even hashed. Values returned by a Store or Cache may be
	// shared: do not modify the slice.
	SecretHash []byte `json:"-"`
	// CreatedAt is when the device was first registered, UpdatedAt when it
	// was last put; both in UTC, to the microsecond (see Stamp).
	CreatedAt, UpdatedAt time.Time
}

// OwnTracksID is the device id of an OwnTracks phone: its user and device
// (the X-Limit-U and X-Limit-D headers, or the topic's parts) joined by '/'.
func OwnTracksID(user, device string) string { return user + "/" + device }

// HasSecret reports whether d can report with a secret.
func (d Device) HasSecret() bool { return len(d.SecretHash) > 0 }

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("devices: store closed")

// Stamp is the precision of stored times: PostgreSQL keeps microseconds,
// so every backend does, and what Put returns is what Get returns.
func Stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
