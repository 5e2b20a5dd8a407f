package wire_test

import (
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport/benchcpu"
	"github.com/teamtrack/tracking-core/wire"
)

var benchRecord = []byte(`{"id":"9b2f3c1e-8a4b-4c2d-9e0f-123456789abc","workerId":"w-17","team":"team_one","location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z","speed":1.4,"heading":270}`)

// BenchmarkDecodeAndEncode is the per-record cost of the ingest path:
// decode and validate, then serialise the canonical form once.
func BenchmarkDecodeAndEncode(b *testing.B) {
	now := time.Date(2026, 11, 22, 13, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRecord)))
	cpu := benchcpu.Start()
	for i := 0; i < b.N; i++ {
		p, err := wire.DecodePosition(benchRecord, now)
		if err != nil {
			b.Fatal(err)
		}
		_ = wire.NewMessage(&p, now)
	}
	cpu.Report(b)
}
