package simulator

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// seenRecord is what a simulated manager needs from a record it received.
type seenRecord struct {
	worker []byte    // workerId
	run    []byte    // run token from the id
	seq    uint64    // sequence number from the id
	stamp  time.Time // timeStamp
}

var (
	keyID        = []byte(`"id":"`)
	keyWorker    = []byte(`"workerId":"`)
	keyTimeStamp = []byte(`"timeStamp":"`)
)

// scanRecord extracts what a manager needs from one record without a full JSON
// decode: the service sends the canonical form, whose fields need no escaping.
// Records it cannot read that way are decoded with encoding/json. ok is false
// when the record is not one of ours (no run and seq in its id) or is malformed.
func scanRecord(b []byte) (r seenRecord, ok bool) {
	id, okID := stringField(b, keyID)
	worker, okW := stringField(b, keyWorker)
	ts, okT := stringField(b, keyTimeStamp)
	if !okID || !okW || !okT {
		return scanRecordSlow(b)
	}
	stamp, err := parseCanonicalTime(ts)
	if err != nil {
		return r, false
	}
	r.worker, r.stamp = worker, stamp
	r.run, r.seq, ok = parseID(id, worker)
	return r, ok
}

func scanRecordSlow(b []byte) (r seenRecord, ok bool) {
	var v struct {
		ID        string    `json:"id"`
		WorkerID  string    `json:"workerId"`
		TimeStamp time.Time `json:"timeStamp"`
	}
	if json.Unmarshal(b, &v) != nil {
		return r, false
	}
	r.worker, r.stamp = []byte(v.WorkerID), v.TimeStamp
	r.run, r.seq, ok = parseID([]byte(v.ID), r.worker)
	return r, ok
}

// stringField returns the value of the first "key":"value" in b whose value
// has no escapes.
func stringField(b, key []byte) ([]byte, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil, false
	}
	v := b[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 || bytes.IndexByte(v[:j], '\\') >= 0 {
		return nil, false
	}
	return v[:j], true
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

// parseCanonicalTime parses the canonical "2006-01-02T15:04:05.000Z" quickly
// and anything else RFC 3339 with the time package.
func parseCanonicalTime(b []byte) (time.Time, error) {
	if len(b) == 24 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == '.' && b[23] == 'Z' {
		n := func(i, j int) (int, bool) {
			v := 0
			for _, c := range b[i:j] {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := n(0, 4)
		mo, ok2 := n(5, 7)
		d, ok3 := n(8, 10)
		h, ok4 := n(11, 13)
		mi, ok5 := n(14, 16)
		s, ok6 := n(17, 19)
		ms, ok7 := n(20, 23)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 {
			return time.Date(y, time.Month(mo), d, h, mi, s, ms*int(time.Millisecond), time.UTC), nil
		}
	}
	return time.Parse(time.RFC3339Nano, string(b))
}
