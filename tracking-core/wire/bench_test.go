package wire_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/teamtrack/tracking-core/testsupport/benchcpu"
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
	cpu := benchcpu.Start()
	for b.Loop() {
		if err := wire.DecodeServerMessage(&m, msg); err != nil || len(m.Positions) != 64 {
			b.Fatal(err)
		}
	}
	cpu.Report(b)
}

// BenchmarkRecordScanner64 splits an ingest body of 64 newline-delimited
// records, as an ingest request does (one scanner per request).
func BenchmarkRecordScanner64(b *testing.B) {
	body := bytes.Repeat(append(slices.Clone(benchRecord), '\n'), 64)
	r := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := benchcpu.Start()
	for b.Loop() {
		r.Reset(body)
		sc := wire.NewRecordScanner(r, 0)
		n := 0
		for {
			_, err := sc.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 64 {
			b.Fatalf("scanned %d records, want 64", n)
		}
	}
	cpu.Report(b)
}

func fill64() []string { return slices.Repeat([]string{rec1}, 64) }
