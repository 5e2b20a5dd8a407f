package wire_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/wire"
)

func TestSSERoundTrip(t *testing.T) {
	var b []byte
	b = wire.AppendSSERetry(b, 2*time.Second)
	b = wire.AppendSSEPositions(b, batchOf(rec1, rec2))
	b = wire.AppendSSEHeartbeat(b)
	b = wire.AppendSSEReconnect(b, wire.ReasonShutdown)
	r := wire.NewSSEReader(strings.NewReader(string(b)))

	blk, err := r.Next()
	if err != nil || !blk.HasRetry || blk.Retry != 2*time.Second || blk.HasData {
		t.Fatalf("retry block %+v %v", blk, err)
	}
	for _, want := range []string{rec1, rec2} {
		blk, err = r.Next()
		if err != nil || blk.Event != "" || !blk.HasData || string(blk.Data) != want {
			t.Fatalf("data block %+v %v, want %s", blk, err, want)
		}
	}
	blk, err = r.Next()
	if err != nil || blk.HasData || len(blk.Comments) != 1 || string(blk.Comments[0]) != wire.SSEHeartbeat {
		t.Fatalf("heartbeat block %+v %v", blk, err)
	}
	blk, err = r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if reason, ok := blk.Reconnect(); !ok || reason != wire.ReasonShutdown {
		t.Fatalf("reconnect block %+v: %q %v", blk, reason, ok)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last block: %v", err)
	}
}

func TestSSEReaderFieldRules(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // longer than the reader's buffer
	in := "\r\n\n: c1\n:c2\nevent: message\ndata: a\ndata:b\r\nid: 7\n\n" +
		"event: custom\ndata\n\n" +
		"data: " + long + "\n\n" +
		"data: cut short"
	r := wire.NewSSEReader(strings.NewReader(in))
	blk, err := r.Next()
	if err != nil || blk.Event != "" || string(blk.Data) != "a\nb" || blk.ID != "7" || len(blk.Comments) != 2 || string(blk.Comments[0]) != "c1" || string(blk.Comments[1]) != "c2" {
		t.Fatalf("first block %+v %v", blk, err)
	}
	blk, err = r.Next()
	if err != nil || blk.Event != "custom" || !blk.HasData || len(blk.Data) != 0 {
		t.Fatalf("second block %+v %v", blk, err)
	}
	if _, ok := blk.Reconnect(); ok {
		t.Fatal("custom event taken for a reconnect")
	}
	blk, err = r.Next()
	if err != nil || string(blk.Data) != long {
		t.Fatalf("long block: %d bytes, %v", len(blk.Data), err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("block cut short by the end: %v, want io.EOF", err)
	}
}

func TestSSEReaderSteadyStateDoesNotAllocate(t *testing.T) {
	one := string(wire.AppendSSEPositions(nil, batchOf(rec1))) + ": hb\n\n"
	in := strings.NewReader(strings.Repeat(one, 300))
	r := wire.NewSSEReader(in)
	_, _ = r.Next()
	_, _ = r.Next()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per block, want 0", allocs)
	}
}
