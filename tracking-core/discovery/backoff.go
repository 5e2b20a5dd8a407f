package discovery

import (
	"math/rand/v2"
	"time"
)

// backoff yields growing waits between failed attempts: min, doubling up to
// max, each with up to 20% random dither so that replicas do not retry in step.
type backoff struct {
	min, max time.Duration
	next     time.Duration
}

func (b *backoff) wait() time.Duration {
	if b.next < b.min {
		b.next = b.min
	}
	d := b.next
	b.next = min(2*b.next, b.max)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

func (b *backoff) reset() { b.next = 0 }
