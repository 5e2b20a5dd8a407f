//go:build !unix

package benchcpu

import "time"

// processCPU is unknown here: Report then reports nothing.
func processCPU() time.Duration { return 0 }
