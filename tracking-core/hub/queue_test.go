package hub

import (
	"fmt"
	"testing"

	tracking "github.com/teamtrack/tracking-core"
)

func msg(worker string, t int64) tracking.Message {
	return tracking.Message{Team: "t", Worker: worker, Time: t, JSON: []byte(fmt.Sprintf(`{"w":%q,"t":%d}`, worker, t))}
}

func drain(q *Queue) []tracking.Message {
	out, _, _ := q.Drain(nil)
	return out
}

func TestQueueKeepsEverythingUnderTheSoftLimit(t *testing.T) {
	q := NewQueue(100, 1000)
	for i := 1; i <= 50; i++ {
		q.Push([]tracking.Message{msg("a", int64(i)), msg("b", int64(i))})
	}
	got := drain(q)
	if len(got) != 100 {
		t.Fatalf("kept %d of 100", len(got))
	}
	for i, m := range got {
		if m.Time != int64(i/2+1) {
			t.Fatalf("position %d out of order: %+v", i, m)
		}
	}
}

func TestQueueConflatesToLatestPerWorkerWhenBehind(t *testing.T) {
	q := NewQueue(10, 1000)
	for i := 1; i <= 1000; i++ {
		q.Push([]tracking.Message{msg(fmt.Sprintf("w%d", i%5), int64(i))})
		if l := q.Len(); l > 20 {
			t.Fatalf("queue grew to %d with 5 workers and a soft limit of 10", l)
		}
	}
	got, conflated, overflow := q.Drain(nil)
	if overflow || conflated == 0 {
		t.Fatalf("conflated %d overflow %v", conflated, overflow)
	}
	latest := map[string]int64{}
	for _, m := range got {
		if m.Time <= latest[m.Worker] {
			t.Fatalf("worker %s went backwards", m.Worker)
		}
		latest[m.Worker] = m.Time
	}
	for w, want := range map[string]int64{"w0": 1000, "w1": 996, "w2": 997, "w3": 998, "w4": 999} {
		if latest[w] != want {
			t.Fatalf("worker %s latest %d, want %d (the latest is never skipped)", w, latest[w], want)
		}
	}
}

func TestQueueOverflowsPastTheHardLimit(t *testing.T) {
	q := NewQueue(10, 50)
	for i := 0; i < 200; i++ {
		q.Push([]tracking.Message{msg(fmt.Sprintf("w%d", i), 1)})
	}
	if _, _, overflow := q.Drain(nil); !overflow {
		t.Fatal("200 distinct workers over a hard limit of 50 did not overflow")
	}
	if q.Len() != 0 {
		t.Fatal("an overflowed queue still holds positions")
	}
	// Distinct workers: none superseded, so every one pushed was lost,
	// pending at the overflow or refused after it.
	if n := q.Lost(); n != 200 {
		t.Fatalf("Lost() = %d, want 200", n)
	}
}

func TestQueuePrimeSnapshotFirstAndNoGoingBack(t *testing.T) {
	q := NewQueue(100, 1000)
	q.Push([]tracking.Message{msg("live", 10)})
	q.Prime([]tracking.Message{msg("live", 5), msg("snap", 7)}, tracking.Offset{})
	q.Push([]tracking.Message{msg("snap", 6), msg("snap", 7), msg("snap", 8)})
	got := drain(q)
	want := []string{"snap/7", "live/10", "snap/8"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, m := range got {
		if fmt.Sprintf("%s/%d", m.Worker, m.Time) != want[i] {
			t.Fatalf("item %d = %s/%d, want %s", i, m.Worker, m.Time, want[i])
		}
	}
}

// A late record with an older fix does not supersede the newer one queued
// for its worker when the queue is compacted.
func TestQueueCompactionKeepsNewestFix(t *testing.T) {
	q := NewQueue(4, 1000)
	q.Push([]tracking.Message{msg("w", 20), msg("x", 1)})
	q.Push([]tracking.Message{msg("w", 10), msg("x", 2), msg("x", 3)}) // w's 10 is a late upload
	got := drain(q)
	want := []int64{20, 3}
	if len(got) != len(want) {
		t.Fatalf("kept %d positions %+v, want w@20 and x@3", len(got), got)
	}
	for i, m := range got {
		if m.Time != want[i] {
			t.Fatalf("kept %s@%d at %d, want time %d", m.Worker, m.Time, i, want[i])
		}
	}
}

// A busy queue keeps its room from drain to drain (no allocation per
// batch); Trim, when its reader goes idle, gives it back.
func TestQueueKeepsRoomUntilTrimmed(t *testing.T) {
	q := NewQueue(100, 1000)
	for i := 1; i <= 40; i++ {
		q.Push([]tracking.Message{msg(fmt.Sprintf("w%d", i), int64(i))})
	}
	if got := len(drain(q)); got != 40 {
		t.Fatalf("drained %d of 40", got)
	}
	grown := cap(q.items)
	if grown < 40 {
		t.Fatalf("room after a drain of 40: %d, want it kept", grown)
	}
	batch := make([][]tracking.Message, 40)
	for i := range batch {
		batch[i] = []tracking.Message{msg(fmt.Sprintf("w%d", i), int64(i))}
	}
	dst := make([]tracking.Message, 0, 64)
	if allocs := testing.AllocsPerRun(20, func() {
		for _, b := range batch {
			q.Push(b)
		}
		dst, _, _ = q.Drain(dst[:0])
	}); allocs != 0 {
		t.Errorf("%.0f allocations per batch of 40: the queue's room was not kept", allocs)
	}
	q.Push([]tracking.Message{msg("w1", 100)})
	q.Trim() // not empty: kept
	if cap(q.items) != grown {
		t.Fatalf("Trim of a queue holding a position: room %d, want %d", cap(q.items), grown)
	}
	drain(q)
	q.Trim()
	if cap(q.items) > keptCap {
		t.Fatalf("room after Trim of an empty queue: %d, want at most %d", cap(q.items), keptCap)
	}
}
