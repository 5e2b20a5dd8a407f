package geofence

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"
)

// Kind is what an event reports.
type Kind string

const (
	Enter Kind = "enter" // the worker's accuracy circle came wholly inside the fence
	Exit  Kind = "exit"  // ... came wholly outside it, by the exit buffer more
	Dwell Kind = "dwell" // the worker has been inside the fence for its dwell time

	Apart    Kind = "apart"    // two workers of an apart rule too far from each other for too long
	Together Kind = "together" // ... and back within the distance: the apart episode is over
	Alone    Kind = "alone"    // no teammate within the distance of a worker for too long
	Joined   Kind = "joined"   // ... and a teammate within the distance again: the alone episode is over
)

// Event is an alert: a fence or proximity rule fired for a worker. Its JSON
// form (AppendJSON) is the wire form of an alert, on manager streams, in
// webhooks and in history:
//
//	{"id":"6f1c0a9e-...","kind":"enter","team":"team_one","workerId":"w-17",
//	 "fenceId":"depot","name":"Depot","location":{"latitude":-23.55,"longitude":-46.63},
//	 "timeStamp":"2026-11-22T13:21:04.123Z"}
//
// fenceId is present for enter, exit and dwell; ruleId and (for apart and
// together) peerId for proximity events.
type Event struct {
	// ID is derived from team, worker, fence or rule, kind and time
	// (EventID): evaluating the same fixes again yields the same ids, so
	// receivers de-duplicate on it.
	ID      string
	Kind    Kind
	Team    string
	Worker  string
	FenceID string // enter, exit, dwell
	RuleID  string // apart, together, alone, joined
	Peer    string // apart, together: the other worker of the rule
	Name    string // of the fence or rule, at the time of the event
	Lat     float64
	Lon     float64
	// Time is the time of the fix that caused the event; for dwell, the
	// moment the dwell time was reached (entry + dwell); for apart and alone,
	// the moment the condition had lasted the rule's For.
	Time time.Time
}

// EventID returns the id of an event: a UUID (version 8, RFC 9562) made
// of the SHA-256 of its team, worker, fence or rule id, kind and time (to
// the nanosecond).
func EventID(team, worker, ref string, kind Kind, t time.Time) string {
	var buf [4*65 + 16 + 8]byte
	b := buf[:0]
	for _, s := range [...]string{team, worker, ref, string(kind)} {
		b = append(b, s...)
		b = append(b, 0) // ids cannot hold NUL: no two inputs run together
	}
	b = binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
	sum := sha256.Sum256(b)
	sum[6] = sum[6]&0x0f | 0x80 // version 8
	sum[8] = sum[8]&0x3f | 0x80 // variant 10
	const hexdigits = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, c := range sum[:16] {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexdigits[c>>4], hexdigits[c&0x0f]
		j += 2
	}
	return string(out[:])
}

func newEvent(kind Kind, team, worker, fenceID, name string, lat, lon float64, t time.Time) Event {
	return Event{
		ID: EventID(team, worker, fenceID, kind, t), Kind: kind, Team: team, Worker: worker,
		FenceID: fenceID, Name: name, Lat: lat, Lon: lon, Time: t,
	}
}

// AppendJSON appends the canonical JSON of e to dst: members in a fixed
// order, empty optional ones (fenceId, ruleId, peerId) left out, the time
// as in the position record (UTC, milliseconds). It does not allocate
// beyond growing dst.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"kind":`...)
	dst = appendString(dst, string(e.Kind))
	dst = append(dst, `,"team":`...)
	dst = appendString(dst, e.Team)
	dst = append(dst, `,"workerId":`...)
	dst = appendString(dst, e.Worker)
	if e.FenceID != "" {
		dst = append(dst, `,"fenceId":`...)
		dst = appendString(dst, e.FenceID)
	}
	if e.RuleID != "" {
		dst = append(dst, `,"ruleId":`...)
		dst = appendString(dst, e.RuleID)
	}
	if e.Peer != "" {
		dst = append(dst, `,"peerId":`...)
		dst = appendString(dst, e.Peer)
	}
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, e.Name)
	dst = append(dst, `,"location":{"latitude":`...)
	dst = strconv.AppendFloat(dst, e.Lat, 'f', -1, 64)
	dst = append(dst, `,"longitude":`...)
	dst = strconv.AppendFloat(dst, e.Lon, 'f', -1, 64)
	dst = append(dst, `},"timeStamp":"`...)
	dst = appendTimeStamp(dst, e.Time)
	return append(dst, `"}`...)
}

// MarshalJSON returns AppendJSON's form, for encoding/json users.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// appendTimeStamp writes t as the position record does:
// 2006-01-02T15:04:05.000Z.
func appendTimeStamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}
