package wire_test

import (
	"slices"
	"testing"

	"github.com/teamtrack/tracking-core/wire"
)

// The manager writers encode a batch per write: these measure that, per
// position, for both framings.
func benchAppend(b *testing.B, appendBatch func([]byte) []byte) {
	buf := appendBatch(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendBatch(buf[:0])
	}
}

func BenchmarkAppendPositions64(b *testing.B) {
	batch := batchOf(fill64()...)
	benchAppend(b, func(dst []byte) []byte { return wire.AppendPositions(dst, batch) })
}

func BenchmarkAppendSSEPositions64(b *testing.B) {
	batch := batchOf(fill64()...)
	benchAppend(b, func(dst []byte) []byte { return wire.AppendSSEPositions(dst, batch) })
}

func BenchmarkDecodeServerMessage64(b *testing.B) {
	msg := wire.AppendPositions(nil, batchOf(fill64()...))
	var m wire.ServerMessage
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := wire.DecodeServerMessage(&m, msg); err != nil || len(m.Positions) != 64 {
			b.Fatal(err)
		}
	}
}

func fill64() []string { return slices.Repeat([]string{rec1}, 64) }
