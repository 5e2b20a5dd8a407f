package geofence

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// WorkerState is what the evaluator knows of one worker: the fences it is
// inside and the last fix applied. The service keeps one per worker, passes
// it to every Evaluate and Due call for that worker (never two at once), and
// stores it in the broker's store (MarshalBinary, ~30 bytes plus ~12 per
// fence inside plus the fence ids) whenever Seq has changed, so that the
// replica the worker reconnects to carries on without a second enter.
// Its JSON form (encoding/json, through the field tags) is for debugging.
type WorkerState struct {
	// Team and Worker are those of the last fix applied (the events of Due
	// carry them).
	Team   string `json:"team,omitempty"`
	Worker string `json:"worker,omitempty"`
	// Last is the time of the last fix applied: a fix not after it (a late
	// upload, or a replay) changes nothing.
	Last time.Time `json:"last,omitzero"`
	// Lat and Lon are that fix's position (the position of a dwell event).
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
	// Seq counts the changes to Inside: store the state when it differs from
	// the last stored one (Last alone changes with every fix, and a replica
	// restoring an older Last just re-applies a few fixes, with no event).
	Seq uint64 `json:"seq"`
	// Inside lists the fences the worker is inside.
	Inside []Presence `json:"inside,omitempty"`
}

// Presence is a worker inside a fence.
type Presence struct {
	FenceID string `json:"fence"`
	// Since is the time of the fix that entered.
	Since time.Time `json:"since"`
	// DwellAt is when a dwell event is due (Since + the fence's dwell);
	// zero when the fence has no dwell time.
	DwellAt time.Time `json:"dwellAt,omitzero"`
	// Dwelled is set once the dwell event was reported.
	Dwelled bool `json:"dwelled,omitempty"`
	// Missing is the time of the first fix that found the fence missing
	// from the index (deleted, or not yet loaded); zero while it exists.
	Missing time.Time `json:"missing,omitzero"`

	// The fence's place in the last index it was looked up in: saves a
	// lookup by id on every fix while the index stays the same.
	index *Index
	at    int32
}

// NextDue returns the earliest time a Due call can report something for
// this worker (a dwell), or the zero time when none is pending: the service
// arms a timer for it after each Evaluate.
func NextDue(st *WorkerState) time.Time {
	var next time.Time
	for i := range st.Inside {
		p := &st.Inside[i]
		if !p.DwellAt.IsZero() && !p.Dwelled && (next.IsZero() || p.DwellAt.Before(next)) {
			next = p.DwellAt
		}
	}
	return next
}

const stateVersion = 1

// Limits on a decoded state, against a corrupt or hostile store.
const (
	maxStateInside = 10000
	maxStateID     = 256
)

var errBadState = errors.New("geofence: malformed worker state")

// MarshalBinary returns the compact binary form of st: a version byte, then
// varints and float64 bits; the times of the entries are relative to Last.
func (st *WorkerState) MarshalBinary() ([]byte, error) {
	return st.AppendBinary(nil)
}

// AppendBinary appends the binary form of st to dst.
func (st *WorkerState) AppendBinary(dst []byte) ([]byte, error) {
	last := unixNano(st.Last)
	dst = append(dst, stateVersion)
	dst = appendStr(dst, st.Team)
	dst = appendStr(dst, st.Worker)
	dst = binary.AppendUvarint(dst, st.Seq)
	dst = binary.AppendVarint(dst, last)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(st.Lat))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(st.Lon))
	dst = binary.AppendUvarint(dst, uint64(len(st.Inside)))
	for i := range st.Inside {
		p := &st.Inside[i]
		dst = appendStr(dst, p.FenceID)
		var flags byte
		if p.Dwelled {
			flags |= 1
		}
		if !p.DwellAt.IsZero() {
			flags |= 2
		}
		if !p.Missing.IsZero() {
			flags |= 4
		}
		dst = append(dst, flags)
		dst = binary.AppendVarint(dst, last-unixNano(p.Since))
		if flags&2 != 0 {
			dst = binary.AppendVarint(dst, unixNano(p.DwellAt)-unixNano(p.Since))
		}
		if flags&4 != 0 {
			dst = binary.AppendVarint(dst, last-unixNano(p.Missing))
		}
	}
	return dst, nil
}

// UnmarshalBinary restores st from MarshalBinary's form.
func (st *WorkerState) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || data[0] != stateVersion {
		return errBadState
	}
	r := reader{b: data[1:]}
	var s WorkerState
	s.Team = r.str()
	s.Worker = r.str()
	s.Seq = r.uvarint()
	last := r.varint()
	s.Last = fromUnixNano(last)
	s.Lat = math.Float64frombits(r.uint64())
	s.Lon = math.Float64frombits(r.uint64())
	n := r.uvarint()
	if n > maxStateInside {
		return errBadState
	}
	if n > 0 {
		s.Inside = make([]Presence, 0, min(n, uint64(len(r.b))))
	}
	for range n {
		if r.bad {
			return errBadState
		}
		p := Presence{FenceID: r.str()}
		flags := r.byte()
		since := last - r.varint()
		p.Since = fromUnixNano(since)
		p.Dwelled = flags&1 != 0
		if flags&2 != 0 {
			p.DwellAt = fromUnixNano(since + r.varint())
		}
		if flags&4 != 0 {
			p.Missing = fromUnixNano(last - r.varint())
		}
		s.Inside = append(s.Inside, p)
	}
	if r.bad || len(r.b) != 0 {
		return errBadState
	}
	*st = s
	return nil
}

// unixNano maps the zero time to 0 (and so 1970-01-01T00:00:00Z, which no
// fix carries, to the zero time).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uint64() uint64 {
	if len(r.b) < 8 {
		r.bad, r.b = true, nil
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) str() string {
	l := r.uvarint()
	if l > maxStateID || l > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}
