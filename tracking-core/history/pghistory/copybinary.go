package pghistory

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/teamtrack/tracking-core/history"
)

// The COPY ... (FORMAT binary) stream of a batch, written by hand: one
// append per field into a reused buffer, no []any per row, no boxing, no
// type lookups (pgx's CopyFrom costs several allocations and a map lookup a
// value). The layout is PostgreSQL's (see the COPY reference, "Binary
// Format"): a header, then per row a 16-bit field count and, per field, a
// 32-bit length (-1 for NULL) and the value in the type's binary send form.

const copyHeader = "PGCOPY\n\377\r\n\000" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00" // signature, flags, no extension

// pgEpochMicros is 2000-01-01 UTC in Unix microseconds: timestamptz is
// microseconds since then.
const pgEpochMicros = 946_684_800_000_000

// appendCopyBinary appends recs to buf as a whole COPY binary stream, in
// the order of columns.
func appendCopyBinary(buf []byte, recs []history.Record) []byte {
	buf = append(buf, copyHeader...)
	for i := range recs {
		r := &recs[i]
		p := &r.Position
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(columns)))
		buf = appendText(buf, p.Team)
		buf = appendText(buf, p.WorkerID)
		buf = appendText(buf, p.ID)
		buf = appendTime(buf, p.TimeStamp)
		buf = appendTime(buf, r.Received)
		buf = appendFloat(buf, p.Location.Latitude)
		buf = appendFloat(buf, p.Location.Longitude)
		buf = appendOptFloat(buf, p.Accuracy)
		buf = appendOptFloat(buf, p.Speed)
		buf = appendOptFloat(buf, p.Heading)
		buf = appendOptFloat(buf, p.Battery)
	}
	return binary.BigEndian.AppendUint16(buf, 0xffff) // trailer: field count -1
}

func appendText(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// appendTime truncates t to the microsecond (UnixMicro rounds down, as
// time.Truncate does for any time after year 1).
func appendTime(buf []byte, t time.Time) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(t.UnixMicro()-pgEpochMicros))
}

func appendFloat(buf []byte, f float64) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, math.Float64bits(f))
}

func appendOptFloat(buf []byte, f *float64) []byte {
	if f == nil {
		return binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1: NULL
	}
	return appendFloat(buf, *f)
}
