package phones

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tracking "github.com/teamtrack/tracking-core"
)

// Fix is one position a phone app reported, in the platform's units. The
// caller turns it into a tracking.Position (worker and team come from the
// device's registration or the request's credentials) and validates that.
type Fix struct {
	// Device is the identifier the app sent (OsmAnd id/deviceid/device_id);
	// empty for OwnTracks, whose identity is the HTTP request's credentials.
	Device string
	// Latitude and Longitude are WGS84 degrees, finite and in range.
	Latitude, Longitude float64
	// Time is when the fix was taken (UTC): the phone's own timestamp, or
	// the now given to the parser when the app sent none.
	Time time.Time

	Speed    *float64 // metres per second, >= 0
	Heading  *float64 // degrees clockwise from north, [0, 360]
	Accuracy *float64 // metres, >= 0
	Altitude *float64 // metres above sea level
	Battery  *float64 // percent, [0, 100]

	// ID is a stable id for the fix when one can be derived from what the
	// app sent (so that a fix the app sends again, as buffering apps do
	// after a lost answer, is recognised), else "". It is a valid
	// tracking.Position id.
	ID string
}

// Position is f as worker's record in team: the canonical fields, battery
// included (the altitude has no place in the record). The id is f's; the
// caller gives one when it is empty (FixID).
func (f Fix) Position(team, worker string) tracking.Position {
	return tracking.Position{ID: f.ID, WorkerID: worker, Team: team,
		Location:  tracking.Location{Latitude: f.Latitude, Longitude: f.Longitude},
		TimeStamp: f.Time, Accuracy: f.Accuracy, Speed: f.Speed, Heading: f.Heading, Battery: f.Battery}
}

// Unit conversions.

// knotMS is one knot in metres per second (1 kn = 1852 m/h).
const knotMS = 1852.0 / 3600.0

// KnotsToMS converts a speed in knots to metres per second.
func KnotsToMS(kn float64) float64 { return kn * knotMS }

// KmhToMS converts a speed in kilometres per hour to metres per second.
func KmhToMS(kmh float64) float64 { return kmh / 3.6 }

// MSToKmh converts a speed in metres per second to kilometres per hour.
func MSToKmh(ms float64) float64 { return ms * 3.6 }

// FixID returns a stable id, valid as a tracking.Position id, for the fix
// taken at t by device as reported through source ("osmand", "owntracks"):
// source:device:unix-milliseconds. A device id that is not made of
// [A-Za-z0-9_.:-] or is longer than 64 bytes is replaced by a hash of it.
// The OwnTracks caller, which knows the device only from the request's
// credentials, builds its fixes' ids with it.
func FixID(source, device string, t time.Time) string {
	if device == "" || len(device) > 64 || tracking.ValidateID("id", device, 64) != nil {
		sum := sha256.Sum256([]byte(device))
		device = "sha256-" + hex.EncodeToString(sum[:8])
	}
	return source + ":" + device + ":" + strconv.FormatInt(t.UnixMilli(), 10)
}

// Errors.

// fieldError reports a problem with one field, named as the protocol names it.
func fieldError(field, format string, args ...any) *tracking.Error {
	return &tracking.Error{Code: tracking.CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

func invalidJSON(format string, args ...any) *tracking.Error {
	return tracking.Errorf(tracking.CodeInvalidJSON, format, args...)
}

// clip shortens s, for an error message that quotes a client's value.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func ptr(f float64) *float64 { return &f }

// parseNumber parses a decimal number sent as text (a query parameter, or a
// number an old app sent as a JSON string). Hexadecimal, NaN and infinities,
// which strconv accepts, are not numbers here.
func parseNumber(field, s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fieldError(field, "must be a number, got an empty value")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, fieldError(field, "must be a number, got %q", clip(s, 40))
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !finite(f) {
		return 0, fieldError(field, "must be a finite number, got %q", clip(s, 40))
	}
	return f, nil
}

// Checks and normalisations shared by the parsers.

func checkLatitude(field string, f float64) error {
	if !finite(f) || f < -90 || f > 90 {
		return fieldError(field, "must be a latitude in [-90, 90], got %v", f)
	}
	return nil
}

func checkLongitude(field string, f float64) error {
	if !finite(f) || f < -180 || f > 180 {
		return fieldError(field, "must be a longitude in [-180, 180], got %v", f)
	}
	return nil
}

// checkTime rejects a fix time the platform would refuse
// (tracking.Position.Validate), naming the protocol's field.
func checkTime(field string, t, now time.Time) error {
	if t.After(now.Add(tracking.MaxFutureSkew)) {
		return fieldError(field, "is more than 24h in the future (%s)", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// The optional values: apps mark "unknown" with a negative value (-1 for
// the speed, heading, accuracy and battery of the location SDK Traccar
// Client uses; iOS CoreLocation does the same), so a negative value is
// absent, not an error. A 400 is no remedy: a buffering app retries the
// same fix, and the SDK stops uploading the queue behind it.

func nonNegative(f float64) *float64 {
	if f < 0 {
		return nil
	}
	return ptr(f)
}

// heading: negative is unknown; beyond 360 is folded back into [0, 360).
func heading(f float64) *float64 {
	switch {
	case f < 0:
		return nil
	case f > 360:
		return ptr(math.Mod(f, 360))
	}
	return ptr(f)
}

// battery: a percentage outside [0, 100] is unknown.
func battery(pct float64) *float64 {
	if pct < 0 || pct > 100 {
		return nil
	}
	return ptr(pct)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hexdigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < ' ':
				dst = append(dst, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
