package tracking

import (
	"bytes"
	"encoding/json"
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

// wireRecord is a record as clients send it; each field is parsed by hand so that
// legacy forms are accepted and errors name the field.
type wireRecord struct {
	ID        json.RawMessage `json:"id"`
	WorkerID  json.RawMessage `json:"workerId"`
	Team      json.RawMessage `json:"team"`
	Location  json.RawMessage `json:"location"`
	TimeStamp json.RawMessage `json:"timeStamp"`
	Accuracy  json.RawMessage `json:"accuracy"`
	Speed     json.RawMessage `json:"speed"`
	Heading   json.RawMessage `json:"heading"`
}

type wireLocation struct {
	Latitude  json.RawMessage `json:"latitude"`
	Longitude json.RawMessage `json:"longitude"`
}

// DecodePosition parses one JSON record in the canonical or the legacy form,
// assigns an id when it has none, and validates it against now. The error, an
// *Error, names the offending field.
func DecodePosition(data []byte, now time.Time) (Position, error) {
	var p Position
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return p, Errorf(CodeInvalidJSON, "a record must be a JSON object")
	}
	var w wireRecord
	if err := json.Unmarshal(data, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return p, Errorf(CodeInvalidJSON, "a record must be a JSON object")
		}
		return p, &Error{Code: CodeInvalidJSON, Message: "malformed JSON: " + jsonErrorText(err), Err: err}
	}
	var err error
	if p.ID, err = optionalString("id", w.ID); err != nil {
		return p, err
	}
	if p.WorkerID, err = requiredString("workerId", w.WorkerID); err != nil {
		return p, err
	}
	if p.Team, err = requiredString("team", w.Team); err != nil {
		return p, err
	}
	if isNull(w.Location) {
		return p, fieldError("location", "is required")
	}
	var loc wireLocation
	if err := json.Unmarshal(w.Location, &loc); err != nil {
		return p, fieldError("location", "must be an object with latitude and longitude")
	}
	if p.Location.Latitude, err = requiredNumber("location.latitude", loc.Latitude); err != nil {
		return p, err
	}
	if p.Location.Longitude, err = requiredNumber("location.longitude", loc.Longitude); err != nil {
		return p, err
	}
	if p.TimeStamp, err = parseTimeStamp(w.TimeStamp, now); err != nil {
		return p, err
	}
	if p.Accuracy, err = optionalNumber("accuracy", w.Accuracy); err != nil {
		return p, err
	}
	if p.Speed, err = optionalNumber("speed", w.Speed); err != nil {
		return p, err
	}
	if p.Heading, err = optionalNumber("heading", w.Heading); err != nil {
		return p, err
	}
	if p.ID == "" {
		p.ID = NewID()
	}
	return p, p.Validate(now)
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

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func requiredString(field string, raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", fieldError(field, "is required")
	}
	return optionalString(field, raw)
}

func optionalString(field string, raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if raw[0] != '"' {
		return "", fieldError(field, "must be a string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fieldError(field, "must be a string")
	}
	return s, nil
}

// requiredNumber accepts a JSON number or, in the legacy form, a string holding one.
func requiredNumber(field string, raw json.RawMessage) (float64, error) {
	if isNull(raw) {
		return 0, fieldError(field, "is required")
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, fieldError(field, "must be a number")
		}
		text = strings.TrimSpace(text)
	} else if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, fieldError(field, "must be a number or a numeric string")
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || !finite(f) {
		return 0, fieldError(field, "must be a finite number, got %q", clip(text, 32))
	}
	return f, nil
}

func optionalNumber(field string, raw json.RawMessage) (*float64, error) {
	if isNull(raw) {
		return nil, nil
	}
	f, err := requiredNumber(field, raw)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// parseTimeStamp accepts RFC 3339 or the legacy dd/MM/yyyy HH:mm:ss (UTC). A record
// with no timestamp is stamped with the time it was received.
func parseTimeStamp(raw json.RawMessage, now time.Time) (time.Time, error) {
	if isNull(raw) {
		return now.UTC(), nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return time.Time{}, fieldError("timeStamp", "must be a string (RFC 3339 or dd/MM/yyyy HH:mm:ss)")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(LegacyTimeLayout, s)
	if err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			return time.Time{}, fieldError("timeStamp", "%q is not a valid date%s", clip(s, 40), pe.Message)
		}
		return time.Time{}, fieldError("timeStamp", "%q is neither RFC 3339 nor dd/MM/yyyy HH:mm:ss", clip(s, 40))
	}
	return t, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
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
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&0x0f])
	}
	return string(out)
}

// AppendJSON appends the canonical JSON of p to dst. Fields are written in a fixed
// order; ids are validated, so they need no escaping.
func (p *Position) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendQuote(dst, p.ID)
	dst = append(dst, `,"workerId":"`...)
	dst = append(dst, p.WorkerID...)
	dst = append(dst, `","team":"`...)
	dst = append(dst, p.Team...)
	dst = append(dst, `","location":{"latitude":`...)
	dst = strconv.AppendFloat(dst, p.Location.Latitude, 'f', -1, 64)
	dst = append(dst, `,"longitude":`...)
	dst = strconv.AppendFloat(dst, p.Location.Longitude, 'f', -1, 64)
	dst = append(dst, `},"timeStamp":"`...)
	dst = p.TimeStamp.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	dst = append(dst, '"')
	dst = appendOptional(dst, `,"accuracy":`, p.Accuracy)
	dst = appendOptional(dst, `,"speed":`, p.Speed)
	dst = appendOptional(dst, `,"heading":`, p.Heading)
	return append(dst, '}')
}

func appendOptional(dst []byte, key string, v *float64) []byte {
	if v == nil {
		return dst
	}
	dst = append(dst, key...)
	return strconv.AppendFloat(dst, *v, 'f', -1, 64)
}

// Message returns p as it travels between replicas: serialised once.
func (p *Position) Message() Message {
	return Message{
		Team:   p.Team,
		Worker: p.WorkerID,
		Time:   p.TimeStamp.UnixNano(),
		JSON:   p.AppendJSON(make([]byte, 0, 192)),
	}
}
