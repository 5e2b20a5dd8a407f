package tracking

import (
	"math"
	"math/rand/v2"
	"time"
)

// MaxFutureSkew is how far in the future a record's timestamp may be.
const MaxFutureSkew = 24 * time.Hour

// LateAfter is how much older than its receipt a fix must be to be late: a
// phone uploading what it buffered while offline. Late positions go to
// managers marked so ("late":true) and to history in fix-time order; they
// never replace a newer last known position (see Broadcaster.Last).
const LateAfter = 30 * time.Second

// Location is a WGS84 coordinate in degrees.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Position is one GPS fix of one worker. Optional fields are nil when absent.
type Position struct {
	ID        string    `json:"id"`
	WorkerID  string    `json:"workerId"`
	Team      string    `json:"team"`
	Location  Location  `json:"location"`
	TimeStamp time.Time `json:"timeStamp"`
	Accuracy  *float64  `json:"accuracy,omitempty"` // metres
	Speed     *float64  `json:"speed,omitempty"`    // metres per second
	Heading   *float64  `json:"heading,omitempty"`  // degrees clockwise from north, [0, 360]
	Battery   *float64  `json:"battery,omitempty"`  // battery level of the reporting device, percent, [0, 100]
	// Late is set by the platform, never taken from input: the fix was more
	// than LateAfter older than its receipt.
	Late bool `json:"-"` // written as "late":true by wire.AppendPosition
}

// Validate checks p against the rules of the contract.
func (p *Position) Validate(now time.Time) error {
	if err := ValidateID("id", p.ID, 128); err != nil {
		return err
	}
	if err := ValidateID("workerId", p.WorkerID, 64); err != nil {
		return err
	}
	if err := ValidateID("team", p.Team, 64); err != nil {
		return err
	}
	if !finite(p.Location.Latitude) || p.Location.Latitude < -90 || p.Location.Latitude > 90 {
		return fieldError("location.latitude", "must be a finite number in [-90, 90], got %v", p.Location.Latitude)
	}
	if !finite(p.Location.Longitude) || p.Location.Longitude < -180 || p.Location.Longitude > 180 {
		return fieldError("location.longitude", "must be a finite number in [-180, 180], got %v", p.Location.Longitude)
	}
	if p.TimeStamp.IsZero() {
		return fieldError("timeStamp", "is required")
	}
	if p.TimeStamp.After(now.Add(MaxFutureSkew)) {
		return fieldError("timeStamp", "is more than 24h in the future (%s)", p.TimeStamp.UTC().Format(time.RFC3339))
	}
	if p.Accuracy != nil && (!finite(*p.Accuracy) || *p.Accuracy < 0) {
		return fieldError("accuracy", "must be a finite number >= 0")
	}
	if p.Speed != nil && (!finite(*p.Speed) || *p.Speed < 0) {
		return fieldError("speed", "must be a finite number >= 0")
	}
	if p.Heading != nil && (!finite(*p.Heading) || *p.Heading < 0 || *p.Heading > 360) {
		return fieldError("heading", "must be a finite number in [0, 360]")
	}
	if p.Battery != nil && (!finite(*p.Battery) || *p.Battery < 0 || *p.Battery > 100) {
		return fieldError("battery", "must be a finite number in [0, 100]")
	}
	return nil
}

// ValidateID checks that s is 1 to max characters of [A-Za-z0-9_.:-].
func ValidateID(field, s string, max int) error {
	if s == "" {
		return fieldError(field, "is required")
	}
	if len(s) > max {
		return fieldError(field, "must be at most %d characters, got %d", max, len(s))
	}
	for i := 0; i < len(s); i++ {
		if !idChar(s[i]) {
			return fieldError(field, "may contain only letters, digits and _.:- (found %q)", truncateRune(s[i:]))
		}
	}
	return nil
}

// ValidTeam reports whether s is a well-formed team name.
func ValidTeam(s string) error { return ValidateID("team", s, 64) }

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == ':' || c == '-'
}

func truncateRune(s string) string {
	for i := range s {
		if i > 0 {
			return s[:i]
		}
	}
	return s
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// NewID returns a random UUID (version 4) string.
func NewID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexdigits = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexdigits[c>>4], hexdigits[c&0x0f]
		j += 2
	}
	return string(out[:])
}
