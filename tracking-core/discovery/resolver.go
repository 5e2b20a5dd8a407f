package discovery

import "sync"

// Resolver knows the healthy instances of the services it follows.
// All methods are safe for concurrent use.
type Resolver interface {
	// Instances returns the current healthy instances of service, sorted by
	// ID, without waiting on the network. It returns nil for a service with no
	// healthy instance and for one the Resolver does not follow. Callers must
	// not modify the returned slice; it is never modified afterwards either.
	Instances(service string) []Instance

	// Changed returns a channel that is closed at the next change of any
	// followed service's set (and by Close). Call it again for the change after.
	Changed() <-chan struct{}

	// Ready returns nil once the set of every followed service has been learnt
	// at least once, else an error saying what is missing. It stays nil after
	// that, even while the source is unreachable and the last known sets serve.
	Ready() error

	// Close stops following. It is idempotent; no goroutine outlives it. After
	// Close, Instances keeps answering with the last known sets.
	Close() error
}

// notifier hands out a channel that is closed and replaced at every change;
// after shutdown it hands out a closed one.
type notifier struct {
	mu   sync.Mutex
	ch   chan struct{}
	done bool
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
		if n.done {
			close(n.ch)
		}
	}
	return n.ch
}

// shutdown wakes every waiter, for good.
func (n *notifier) shutdown() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.done = true
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	select {
	case <-n.ch:
	default:
		close(n.ch)
	}
}

func (n *notifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil && !n.done {
		close(n.ch)
		n.ch = nil
	}
}
