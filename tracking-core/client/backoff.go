package client

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is how long to wait before reconnecting: Min doubling up to Max,
// each wait drawn from its upper half (jitter), back to Min after a
// connection that lasted. Zero values take the defaults in the comments.
type Backoff struct {
	Min time.Duration // default 100ms
	Max time.Duration // default 10s
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max < b.Min {
		b.Max = max(b.Min, 10*time.Second)
	}
	return b
}

// wait sleeps the attempt-th wait (0 first), or until ctx is done.
func (b Backoff) wait(ctx context.Context, attempt int) error {
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// permanent tells a refusal that retrying cannot cure: a 4xx other than
// 408 and 429 (a bad token, a team not watchable, no such route).
func permanent(code int) bool {
	return code >= 400 && code < 500 && code != 408 && code != 429
}
