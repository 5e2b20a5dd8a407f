package simulator

import (
	"math/rand/v2"
	"time"
)

// Backoff paces reconnects. The zero value is the default.
type Backoff struct {
	// Initial caps the delay before the first retry. Default: 250ms.
	Initial time.Duration
	// Max caps every delay. Default: 30s.
	Max time.Duration
	// HintSpread: when the server asks a client to reconnect (WebSocket
	// {"type":"reconnect"}, close code 1012, SSE event: reconnect), the client
	// comes back after a random delay in [0, HintSpread], so that the clients of
	// a draining replica do not all arrive at once. Default: 1s.
	HintSpread time.Duration
	// ResetAfter: a connection that lived at least this long starts the retry
	// count afresh when it fails. Default: 5s.
	ResetAfter time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 250 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.HintSpread <= 0 {
		b.HintSpread = time.Second
	}
	if b.ResetAfter <= 0 {
		b.ResetAfter = 5 * time.Second
	}
	return b
}

// Delay returns the wait before retry number attempt (0-based): exponential
// backoff with full jitter, uniform in [0, min(Max, Initial·2^attempt)], so that
// clients cut off together do not retry together.
func (b Backoff) Delay(attempt int) time.Duration {
	ceiling := b.Max
	if attempt < 32 {
		if d := b.Initial << attempt; d > 0 && d < b.Max {
			ceiling = d
		}
	}
	return jitter(ceiling)
}

// HintDelay returns the wait before reconnecting on the server's request.
func (b Backoff) HintDelay() time.Duration { return jitter(b.HintSpread) }

// jitter returns a uniform random duration in [0, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// sleep waits for d or until ctx is done, and reports whether ctx is still live.
func sleep(ctxDone <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-ctxDone:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctxDone:
		return false
	case <-t.C:
		return true
	}
}
