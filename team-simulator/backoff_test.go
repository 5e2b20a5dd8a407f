package simulator

import (
	"testing"
	"time"
)

func TestBackoffFullJitter(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second}.withDefaults()
	for attempt, ceiling := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000} {
		ceiling *= time.Millisecond
		var maxSeen time.Duration
		var small int
		for range 2000 {
			d := b.Delay(attempt)
			if d < 0 || d > ceiling {
				t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d, ceiling)
			}
			maxSeen = max(maxSeen, d)
			if d < ceiling/4 {
				small++
			}
		}
		// Full jitter: spread over the whole range, not bunched at the top.
		if maxSeen < ceiling*9/10 || small < 300 {
			t.Fatalf("attempt %d: delays not spread over [0, %v] (max %v, %d below a quarter)", attempt, ceiling, maxSeen, small)
		}
	}
	if d := b.Delay(1000); d > b.Max {
		t.Fatalf("huge attempt: %v", d)
	}
	for range 100 {
		if d := b.HintDelay(); d < 0 || d > b.HintSpread {
			t.Fatalf("hint delay %v outside [0, %v]", d, b.HintSpread)
		}
	}
}
