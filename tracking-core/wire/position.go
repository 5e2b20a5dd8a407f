package wire

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// The position record's codec: decoding of the canonical and the legacy form
// (position_decode.go does the walk), the canonical encoding, and the
// Message a decoded position travels in.

// LegacyTimeLayout is the timestamp form of the reference design: dd/MM/yyyy HH:mm:ss, UTC.
const LegacyTimeLayout = "02/01/2006 15:04:05"

// DecodePosition parses one JSON record in the canonical or the legacy form,
// assigns an id when it has none, and validates it against now. The error, an
// *Error, names the offending field.
func DecodePosition(data []byte, now time.Time) (tracking.Position, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return tracking.Position{}, tracking.Errorf(tracking.CodeInvalidJSON, "a record must be a JSON object")
	}
	return decodePosition(data, now) // position_decode.go
}

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

// AppendPosition appends the canonical JSON of p to dst. Fields are written
// in a fixed order; ids are validated, so they need no escaping.
func AppendPosition(dst []byte, p *tracking.Position) []byte {
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
	dst = appendOptional(dst, `,"battery":`, p.Battery)
	if p.Late {
		dst = append(dst, `,"late":true`...)
	}
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

// timeStampLayout is how AppendPosition writes timeStamp, always in UTC.
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

// NewMessage returns p as it travels between replicas, received at the
// given time: serialised once, into a slice of exactly the right size (it may
// be queued for a while).
func NewMessage(p *tracking.Position, received time.Time) tracking.Message {
	var buf [512]byte // more than any valid record needs
	b := AppendPosition(buf[:0], p)
	out := make([]byte, len(b))
	copy(out, b)
	return tracking.Message{
		Team:     p.Team,
		Worker:   p.WorkerID,
		Time:     p.TimeStamp.UnixNano(),
		Received: received.UnixNano(),
		JSON:     out,
	}
}
