package tracking

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// MaxFutureSkew is how far in the future a record's timestamp may be.
const MaxFutureSkew = 24 * time.Hour

// LegacyTimeLayout is the timestamp form of the reference design: dd/MM/yyyy HH:mm:ss, UTC.
const LegacyTimeLayout = "02/01/2006 15:04:05"

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
}

// DecodePosition parses one JSON record in the canonical or the legacy form,
// assigns an id when it has none, and validates it against now. The error, an
// *Error, names the offending field.
func DecodePosition(data []byte, now time.Time) (Position, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return Position{}, Errorf(CodeInvalidJSON, "a record must be a JSON object")
	}
	return decodePosition(data, now) // position_decode.go
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

// parseLegacyTimeStamp parses s, which is not RFC 3339, as dd/MM/yyyy HH:mm:ss (UTC).
func parseLegacyTimeStamp(s string) (time.Time, error) {
	t, err := time.Parse(LegacyTimeLayout, s)
	if err != nil {
		v := strings.Clone(s) // s may be on the caller's stack: only a copy may escape
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			return time.Time{}, fieldError("timeStamp", "%q is not a valid date%s", clip(v, 40), pe.Message)
		}
		return time.Time{}, fieldError("timeStamp", "%q is neither RFC 3339 nor dd/MM/yyyy HH:mm:ss", clip(v, 40))
	}
	return t, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

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

// AppendJSON appends the canonical JSON of p to dst. Fields are written in a fixed
// order; ids are validated, so they need no escaping.
func (p *Position) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendQuotedID(dst, p.ID)
	dst = append(dst, `,"workerId":"`...)
	dst = append(dst, p.WorkerID...)
	dst = append(dst, `","team":"`...)
	dst = append(dst, p.Team...)
	dst = append(dst, `","location":{"latitude":`...)
	dst = strconv.AppendFloat(dst, p.Location.Latitude, 'f', -1, 64)
	dst = append(dst, `,"longitude":`...)
	dst = strconv.AppendFloat(dst, p.Location.Longitude, 'f', -1, 64)
	dst = append(dst, `},"timeStamp":"`...)
	dst = appendTimeStamp(dst, p.TimeStamp)
	dst = append(dst, '"')
	dst = appendOptional(dst, `,"accuracy":`, p.Accuracy)
	dst = appendOptional(dst, `,"speed":`, p.Speed)
	dst = appendOptional(dst, `,"heading":`, p.Heading)
	return append(dst, '}')
}

// appendQuotedID is strconv.AppendQuote, without its rune-by-rune walk when
// there is nothing to escape (always, for a validated id).
func appendQuotedID(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return strconv.AppendQuote(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// timeStampLayout is how AppendJSON writes timeStamp, always in UTC.
const timeStampLayout = "2006-01-02T15:04:05.000Z07:00"

// appendTimeStamp is t.UTC().AppendFormat(dst, timeStampLayout), without
// interpreting the layout for years 0 to 9999.
func appendTimeStamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, timeStampLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6 // truncated, as the layout's .000 does
	return append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

func appendOptional(dst []byte, key string, v *float64) []byte {
	if v == nil {
		return dst
	}
	dst = append(dst, key...)
	return strconv.AppendFloat(dst, *v, 'f', -1, 64)
}

// Message returns p as it travels between replicas, received at the given
// time: serialised once, into a slice of exactly the right size (it may be
// queued for a while).
func (p *Position) Message(received time.Time) Message {
	var buf [512]byte // more than any valid record needs
	b := p.AppendJSON(buf[:0])
	out := make([]byte, len(b))
	copy(out, b)
	return Message{
		Team:     p.Team,
		Worker:   p.WorkerID,
		Time:     p.TimeStamp.UnixNano(),
		Received: received.UnixNano(),
		JSON:     out,
	}
}
