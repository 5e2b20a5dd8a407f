package balance

import (
	"sync"
	"time"

	"github.com/teamtrack/tracking-core/discovery"
)

// Tracker counts the active connections through this gateway to each
// upstream address and remembers recent connect failures. It is safe for
// concurrent use; the zero value is not: use NewTracker.
type Tracker struct {
	cooldown time.Duration
	now      func() time.Time

	mu     sync.Mutex
	active map[string]int
	failed map[string]time.Time // address -> time of the last connect failure
}

// NewTracker returns a Tracker that deprioritises an address for cooldown
// after a connect failure.
func NewTracker(cooldown time.Duration) *Tracker {
	return &Tracker{
		cooldown: cooldown,
		now:      time.Now,
		active:   make(map[string]int),
		failed:   make(map[string]time.Time),
	}
}

// Acquire counts one more active connection to addr; the returned release
// (idempotent) counts it out.
func (t *Tracker) Acquire(addr string) (release func()) {
	t.mu.Lock()
	t.active[addr]++
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			if t.active[addr]--; t.active[addr] <= 0 {
				delete(t.active, addr)
			}
			t.mu.Unlock()
		})
	}
}

// Active returns the active connections to addr.
func (t *Tracker) Active(addr string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.active[addr]
}

// Failed records a connect failure of addr.
func (t *Tracker) Failed(addr string) {
	t.mu.Lock()
	t.failed[addr] = t.now()
	t.mu.Unlock()
}

// Succeeded forgets addr's connect failures.
func (t *Tracker) Succeeded(addr string) {
	t.mu.Lock()
	delete(t.failed, addr)
	t.mu.Unlock()
}

// snapshot returns, under one lock, each instance's active count and whether
// it failed within the cooldown; all zero for a nil t.
func (t *Tracker) snapshot(insts []discovery.Instance) (active []int, failing []bool) {
	active, failing = make([]int, len(insts)), make([]bool, len(insts))
	if t == nil {
		return active, failing
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, in := range insts {
		a := in.Address
		active[i] = t.active[a]
		if at, ok := t.failed[a]; ok {
			if now.Sub(at) < t.cooldown {
				failing[i] = true
			} else {
				delete(t.failed, a)
			}
		}
	}
	return active, failing
}
