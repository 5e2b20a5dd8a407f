package simulator

import (
	"bytes"
	"strconv"
	"time"

	"github.com/teamtrack/tracking-core/wire"
)

// seenRecord is what a simulated manager needs from a record it received.
type seenRecord struct {
	worker []byte    // workerId
	run    []byte    // run token from the id
	seq    uint64    // sequence number from the id
	stamp  time.Time // timeStamp
}

// anyTime is the clock scanRecord validates against: far ahead, so that no
// timeStamp is too far in the future. The service has judged it already.
var anyTime = time.Date(9999, time.January, 1, 0, 0, 0, 0, time.UTC)

// scanRecord reads what a manager needs from one record with the service's
// own decoder. ok is false when the record is not one of ours (no run and seq
// in its id) or is not a valid position.
func scanRecord(b []byte) (r seenRecord, ok bool) {
	p, err := wire.DecodePosition(b, anyTime)
	if err != nil {
		return r, false
	}
	r.worker, r.stamp = []byte(p.WorkerID), p.TimeStamp
	r.run, r.seq, ok = parseID([]byte(p.ID), r.worker)
	return r, ok
}

// parseID splits "<worker>:<run>:<seq>".
func parseID(id, worker []byte) (run []byte, seq uint64, ok bool) {
	if !bytes.HasPrefix(id, worker) || len(id) <= len(worker) || id[len(worker)] != ':' {
		return nil, 0, false
	}
	rest := id[len(worker)+1:]
	k := bytes.IndexByte(rest, ':')
	if k <= 0 {
		return nil, 0, false
	}
	seq, err := strconv.ParseUint(string(rest[k+1:]), 10, 64)
	if err != nil || seq == 0 {
		return nil, 0, false
	}
	return rest[:k], seq, true
}
