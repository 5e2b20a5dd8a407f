package wire

import (
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/testsupport/benchcpu"
)

// These run the old decoder (decodeReference) and DecodePosition side by side,
// so that before and after are measured in the same minute on a busy machine:
//
//	go test -run XXX -bench 'Decode(tracking.Position|Reference)' -count 5 -benchmem .

var (
	benchCanonical = []byte(`{"id":"9b2f3c1e-8a4b-4c2d-9e0f-123456789abc","workerId":"w-17","team":"team_one","location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z","speed":1.4,"heading":270}`)
	benchBattery   = []byte(`{"id":"9b2f3c1e-8a4b-4c2d-9e0f-123456789abc","workerId":"w-17","team":"team_one","location":{"latitude":-23.55052,"longitude":-46.633308},"timeStamp":"2026-11-22T13:21:04.123Z","accuracy":4,"speed":1.4,"heading":270,"battery":87}`)
	benchLegacy    = []byte(`{"workerId":"w-17","team":"team_one","location":{"latitude":"-23.55052","longitude":"-46.633308"},"timeStamp":"22/11/2026 13:21:04"}`)
)

func benchDecode(b *testing.B, decode func([]byte, time.Time) (tracking.Position, error), rec []byte, encode bool) {
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	cpu := benchcpu.Start()
	for b.Loop() {
		p, err := decode(rec, decodeNow)
		if err != nil {
			b.Fatal(err)
		}
		if encode {
			_ = NewMessage(&p, decodeNow)
		}
	}
	cpu.Report(b)
}

func BenchmarkDecodePosition(b *testing.B) {
	b.Run("canonical", func(b *testing.B) { benchDecode(b, DecodePosition, benchCanonical, false) })
	b.Run("canonical+Message", func(b *testing.B) { benchDecode(b, DecodePosition, benchCanonical, true) })
	b.Run("legacy", func(b *testing.B) { benchDecode(b, DecodePosition, benchLegacy, false) })
	b.Run("all-optional", func(b *testing.B) { benchDecode(b, DecodePosition, benchBattery, false) })
	b.Run("all-optional+Message", func(b *testing.B) { benchDecode(b, DecodePosition, benchBattery, true) })
}

func BenchmarkDecodeReference(b *testing.B) {
	b.Run("canonical", func(b *testing.B) { benchDecode(b, decodeReference, benchCanonical, false) })
	b.Run("canonical+Message", func(b *testing.B) { benchDecode(b, decodeReference, benchCanonical, true) })
	b.Run("legacy", func(b *testing.B) { benchDecode(b, decodeReference, benchLegacy, false) })
}
