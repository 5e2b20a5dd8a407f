package simulator

import (
	"math"
	"strconv"
	"time"
	"unsafe"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/wire"
)

// record encodes one worker's positions into a reused buffer, with the
// canonical encoder of tracking-core. A record's id is
// "<workerId>:<run>:<seq>": unique across runs, and it tells a simulated
// manager which position of the worker it is looking at.
type record struct {
	p        tracking.Position
	idPrefix []byte // "<workerId>:<run>:"
	id       []byte
	speed    float64 // p.Speed, p.Heading and p.Accuracy point at these
	heading  float64
	accuracy float64
	buf      []byte
}

func newRecord(workerID, team, run string) *record {
	r := &record{
		idPrefix: []byte(workerID + ":" + run + ":"),
		buf:      make([]byte, 0, 256),
	}
	r.id = make([]byte, 0, len(r.idPrefix)+20)
	r.p.WorkerID = workerID
	r.p.Team = team
	r.p.Speed, r.p.Heading, r.p.Accuracy = &r.speed, &r.heading, &r.accuracy
	return r
}

// build encodes w's current state as position seq, stamped at now, and returns
// the bytes, valid until the next call. With newline the record ends in '\n'
// (NDJSON).
func (r *record) build(w *walker, seq uint64, now time.Time, newline bool) []byte {
	r.id = strconv.AppendUint(append(r.id[:0], r.idPrefix...), seq, 10)
	// GPS-like precision keeps records near the ~200 bytes of the reference
	// workloads; rounding never leaves the valid range (±90 and ±180 are valid).
	r.p.Location = tracking.Location{Latitude: round(w.pos.Latitude, 1e7), Longitude: round(w.pos.Longitude, 1e7)}
	r.speed = round(w.speed, 100)
	r.heading = round(w.heading, 10)
	r.accuracy = round(w.accuracy, 10)
	r.p.TimeStamp = now
	// The id lives in a reused buffer; viewing it as a string only for the
	// duration of wire.AppendPosition (which does not keep it) saves an allocation per
	// record.
	r.p.ID = unsafe.String(unsafe.SliceData(r.id), len(r.id))
	r.buf = wire.AppendPosition(r.buf[:0], &r.p)
	r.p.ID = ""
	if newline {
		r.buf = append(r.buf, '\n')
	}
	return r.buf
}

// run is the run token of the record ids.
func (r *record) run() string {
	p := r.idPrefix[:len(r.idPrefix)-1] // "<workerId>:<run>"
	return string(p[len(r.p.WorkerID)+1:])
}

func round(v, scale float64) float64 { return math.Round(v*scale) / scale }
