package simulator

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/wire"
)

func TestRecordIsCanonicalAndValid(t *testing.T) {
	w := newWalker(Movement{}.withDefaults(), 1, 0)
	rec := newRecord("team_one-w1", "team_one", "abc12")
	now := time.Date(2026, 11, 22, 13, 21, 4, 123_456_789, time.UTC)
	b := rec.build(w, 7, now, true)
	if !bytes.HasSuffix(b, []byte("}\n")) || bytes.Count(b, []byte("\n")) != 1 {
		t.Fatalf("NDJSON record %q must be one line", b)
	}
	p, err := wire.DecodePosition(b, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "team_one-w1:abc12:7" || p.WorkerID != "team_one-w1" || p.Team != "team_one" {
		t.Fatalf("decoded %+v", p)
	}
	if p.Speed == nil || p.Heading == nil || p.Accuracy == nil {
		t.Fatalf("speed, heading and accuracy must be present: %s", b)
	}
	if !p.TimeStamp.Equal(now.Truncate(time.Millisecond)) {
		t.Fatalf("timeStamp %v, want %v", p.TimeStamp, now.Truncate(time.Millisecond))
	}
	// The record is the canonical encoding of itself.
	if want := append(wire.AppendPosition(nil, &p), '\n'); !bytes.Equal(b, want) {
		t.Fatalf("record\n%s\nis not canonical\n%s", b, want)
	}
	if len(b) > 260 {
		t.Fatalf("record of %d bytes; the reference workloads assume ~200", len(b))
	}
	// The buffer is reused, and an earlier id does not leak into a later one.
	b2 := rec.build(w, 8, now, false)
	if p2, err := wire.DecodePosition(b2, now); err != nil || p2.ID != "team_one-w1:abc12:8" {
		t.Fatalf("second record %s: %v", b2, err)
	}
}

// Reference bug: dates were a month behind (a 0-based month). Every month of
// the year, and the boundaries where an off-by-one shows, round-trips.
func TestReferenceBugMonthNotZeroBased(t *testing.T) {
	w := newWalker(Movement{}.withDefaults(), 1, 0)
	rec := newRecord("w-1", "team_one", "run")
	for m := time.January; m <= time.December; m++ {
		for _, day := range []int{1, 28} {
			at := time.Date(2026, m, day, 0, 0, 0, 0, time.UTC)
			b := rec.build(w, 1, at, false)
			if want := fmt.Sprintf(`"timeStamp":"2026-%02d-%02dT00:00:00.000Z"`, int(m), day); !bytes.Contains(b, []byte(want)) {
				t.Fatalf("%s: record %s lacks %s", at, b, want)
			}
			p, err := wire.DecodePosition(b, at)
			if err != nil || p.TimeStamp.Month() != m || !p.TimeStamp.Equal(at) {
				t.Fatalf("%s: decoded %v, %v", at, p.TimeStamp, err)
			}
			if r, ok := scanRecord(b); !ok || !r.stamp.Equal(at) {
				t.Fatalf("%s: a manager reads %v", at, r.stamp)
			}
		}
	}
	// A local clock (not UTC) still yields the right UTC instant.
	at := time.Date(2026, time.January, 1, 1, 30, 0, 0, time.FixedZone("BRT", -3*3600))
	b := rec.build(w, 1, at, false)
	if !bytes.Contains(b, []byte(`"2026-01-01T04:30:00.000Z"`)) {
		t.Fatalf("record %s", b)
	}
}

func TestScanRecord(t *testing.T) {
	w := newWalker(Movement{}.withDefaults(), 1, 0)
	rec := newRecord("load-t1-w0042", "load-t1", "k3x9a")
	at := time.Date(2026, 11, 22, 13, 21, 4, 987_000_000, time.UTC)
	r, ok := scanRecord(rec.build(w, 12345, at, false))
	if !ok || string(r.worker) != "load-t1-w0042" || string(r.run) != "k3x9a" || r.seq != 12345 || !r.stamp.Equal(at) {
		t.Fatalf("scanRecord = %+v, %v", r, ok)
	}
	// Field order and spacing are not relied on.
	const loc = `"location":{"latitude":-23.5,"longitude":-46.6}`
	r, ok = scanRecord([]byte(`{ "timeStamp" : "2026-11-22T13:21:04.5+01:00", "workerId": "w-1", "id": "w-1:run:3", "team":"t",` + loc + `}`))
	if !ok || r.seq != 3 || string(r.run) != "run" || !r.stamp.Equal(time.Date(2026, 11, 22, 12, 21, 4, 5e8, time.UTC)) {
		t.Fatalf("reordered fields = %+v, %v", r, ok)
	}
	for _, foreign := range []string{
		`{"id":"9b2f","workerId":"w-1","team":"t","timeStamp":"2026-11-22T13:21:04.123Z",` + loc + `}`,
		`{"id":"w-1:run:x","workerId":"w-1","team":"t","timeStamp":"2026-11-22T13:21:04.123Z",` + loc + `}`,
		`{"id":"w-2:run:1","workerId":"w-1","team":"t","timeStamp":"2026-11-22T13:21:04.123Z",` + loc + `}`,
		`not json`,
	} {
		if _, ok := scanRecord([]byte(foreign)); ok {
			t.Errorf("scanRecord(%s) = ok, want not ours", foreign)
		}
	}
}

func BenchmarkRecordBuild(b *testing.B) {
	w := newWalker(Movement{}.withDefaults(), 1, 0)
	rec := newRecord("load-t001-w00042", "load-t001", "k3x9a")
	now := time.Now()
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		w.step(0.1)
		seq++
		rec.build(w, seq, now, false)
	}
}

func BenchmarkScanRecord(b *testing.B) {
	w := newWalker(Movement{}.withDefaults(), 1, 0)
	rec := newRecord("load-t001-w00042", "load-t001", "k3x9a").build(w, 123456, time.Now(), false)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := scanRecord(rec); !ok {
			b.Fatal("not ours")
		}
	}
}
