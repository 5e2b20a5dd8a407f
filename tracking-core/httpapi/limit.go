package httpapi

import (
	"time"

	tracking "github.com/teamtrack/tracking-core"
)

// bucket is a token bucket of records for one connection. It is used by the
// connection's read loop only, so it needs no lock.
type bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time

	hard        int       // rejections within one second that end the connection
	windowStart time.Time // start of the current one-second window
	rejected    int       // rejections in it
}

func newBucket(rate float64, burst, hard int) *bucket {
	if rate <= 0 {
		return nil // unlimited
	}
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), hard: hard}
}

// take spends a token for one record. It returns a rate_limited error when
// there is none, and over=true once the connection has had more than hard
// rejections within a second: then it should be closed.
func (b *bucket) take(now time.Time) (err error, over bool) {
	if b == nil {
		return nil, false
	}
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return nil, false
	}
	if now.Sub(b.windowStart) >= time.Second {
		b.windowStart, b.rejected = now, 0
	}
	b.rejected++
	return tracking.Errorf(tracking.CodeRateLimited, "more than %.0f records per second on this connection", b.rate), b.rejected > b.hard
}
