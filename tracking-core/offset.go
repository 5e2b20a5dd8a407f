package tracking

import (
	"errors"
	"strconv"
	"strings"
)

// Offset is a position's place in its team's resumable stream, given by the
// broker that carried it. Within one Epoch, the offsets of a team's positions
// grow in the order the broker delivers them, so a stream can be resumed
// after any of them. What Seq and Index mean is the broker's business (Redis:
// the stream entry's time and sequence, the index in the entry; Kafka: the
// record's offset and the index in the record); clients see the String form
// only, as an opaque token.
//
// Epoch names the broker's retained data: it changes when that data is lost
// (a broker that restarts empty, a topic created anew), so that an offset of
// an older epoch is known to be unresumable rather than silently wrong.
// The zero Offset means "none".
type Offset struct {
	Epoch uint64
	Seq   uint64
	Index uint64
}

// IsZero reports whether o is the zero Offset (no position).
func (o Offset) IsZero() bool { return o == Offset{} }

// After reports whether o comes after p in the same epoch. Offsets of
// different epochs are not ordered: After is false both ways.
func (o Offset) After(p Offset) bool {
	if o.Epoch != p.Epoch {
		return false
	}
	if o.Seq != p.Seq {
		return o.Seq > p.Seq
	}
	return o.Index > p.Index
}

// String is the opaque text form of o: three base-36 numbers joined by '-'.
func (o Offset) String() string {
	var b [3*13 + 2]byte
	return string(o.Append(b[:0]))
}

// Append appends o's text form to dst.
func (o Offset) Append(dst []byte) []byte {
	dst = strconv.AppendUint(dst, o.Epoch, 36)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, o.Seq, 36)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, o.Index, 36)
}

var errBadOffset = errors.New("not a stream position id")

// ParseOffset parses the text form of an Offset (Offset.String).
func ParseOffset(s string) (Offset, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(s) > 3*13+2 {
		return Offset{}, errBadOffset
	}
	var n [3]uint64
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 36, 64)
		if err != nil {
			return Offset{}, errBadOffset
		}
		n[i] = v
	}
	o := Offset{Epoch: n[0], Seq: n[1], Index: n[2]}
	if o.IsZero() {
		return Offset{}, errBadOffset
	}
	return o, nil
}
