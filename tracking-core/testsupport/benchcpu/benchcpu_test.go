package benchcpu

import (
	"testing"
	"time"
)

// A busy loop of a known number of iterations costs CPU time, and the
// measurement grows with the work: twice the loop, more CPU time.
func TestProcessCPUCountsWork(t *testing.T) {
	spin := func(n int) (d time.Duration) {
		start := processCPU()
		x := 0
		for i := 0; i < n; i++ {
			x += i * i % 7
		}
		sink = x
		return processCPU() - start
	}
	small := spin(50_000_000)
	big := spin(200_000_000)
	if small <= 0 {
		t.Fatalf("50M iterations measured %v of CPU time, want > 0", small)
	}
	if big <= small {
		t.Fatalf("200M iterations measured %v, 50M %v: want more CPU for more work", big, small)
	}
}

var sink int

func BenchmarkReport(b *testing.B) {
	m := Start()
	x := 0
	for b.Loop() {
		x += len(time.Duration(x).String())
	}
	sink = x
	m.Report(b)
}
