// Package benchcpu adds to a benchmark the CPU time that the process spent
// per operation ("cpu-ns/op": user + system, every thread: the benchmark's
// goroutines, the garbage collector, the runtime). With -cpu 1 it is the
// cost of the code, nearly independent of how busy the machine is: on this
// shared 2-core machine at a load average of 7, a decode measured 3.5 to
// 9.8 µs/op of wall time and 3.1 to 3.5 µs/op of CPU time over six runs.
// scripts/bench-compare.sh gates on it.
package benchcpu

import (
	"testing"
	"time"
)

// Unit is the metric's unit in the benchmark output.
const Unit = "cpu-ns/op"

// Meter measures the process's CPU time from Start to Report.
type Meter struct{ start time.Duration }

// Start begins a measurement: call it where the timer starts (after the
// setup, beside b.ResetTimer, or just before a b.Loop loop).
func Start() Meter { return Meter{start: processCPU()} }

// Report adds the CPU time since Start divided by b.N to b's results: call
// it where the timer stops (after the b.N or b.Loop loop). Where the
// platform cannot tell CPU time, it reports nothing.
func (m Meter) Report(b *testing.B) {
	end := processCPU()
	if end == 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(end-m.start)/float64(b.N), Unit)
}
