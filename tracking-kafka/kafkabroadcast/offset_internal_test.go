package kafkabroadcast

import (
	"testing"

	tracking "github.com/teamtrack/tracking-core"
)

// A head mark comes after every position of the records before its Kafka
// offset and before every position of the others; Since starts reading at
// the record a mark or a position leaves off in.
func TestOffsetEncoding(t *testing.T) {
	const e = 7
	for _, k := range []int64{0, 1, 41} {
		mark := headMark(e, k)
		if mark.IsZero() {
			t.Fatalf("headMark(%d) is the zero Offset", k)
		}
		if first := positionOffset(e, k, 0); !first.After(mark) {
			t.Errorf("position %v of record %d is not after the mark %v before it", first, k, mark)
		}
		if k > 0 {
			if last := positionOffset(e, k-1, 1<<20); !mark.After(last) {
				t.Errorf("mark %v is not after position %v of the record before it", mark, last)
			}
		}
		if got := firstRecord(mark); got != k {
			t.Errorf("firstRecord(mark at %d) = %d", k, got)
		}
		if got := firstRecord(positionOffset(e, k, 3)); got != k {
			t.Errorf("firstRecord(position of record %d) = %d", k, got)
		}
	}
	if got := firstRecord(tracking.Offset{Epoch: e}); got != -1 {
		t.Errorf("firstRecord of Seq 0 that is no mark = %d, want -1 (before any record)", got)
	}
}

// Epochs are never zero and differ between topic IDs and between partitions.
func TestEpochOf(t *testing.T) {
	seen := map[uint64]string{}
	for _, id := range []string{"", "topic-id:aaaaaaaaaaaaaaaa", "topic-id:aaaaaaaaaaaaaaab"} {
		for p := int32(0); p < 64; p++ {
			e := epochOf(id, p)
			if e == 0 {
				t.Fatalf("epochOf(%q, %d) = 0", id, p)
			}
			if prev, ok := seen[e]; ok {
				t.Fatalf("epochOf(%q, %d) = %d, as for %s", id, p, e, prev)
			}
			seen[e] = id
		}
	}
}
