package discovery

import (
	"fmt"
	"net"
	"sync"
)

// Static is a Resolver over a fixed list: every listed instance counts as
// healthy, always. It serves laptops and tests that run without Consul.
type Static struct {
	sets      map[string][]Instance
	changed   chan struct{} // closed by Close only: a static list never changes
	closeOnce sync.Once
}

var _ Resolver = (*Static)(nil)

// NewStatic returns a Static resolver serving, for each service, the given
// host:port addresses (each becomes an Instance whose ID is its address).
// Duplicate addresses are kept once; an address without a port is an error.
func NewStatic(addrs map[string][]string) (*Static, error) {
	s := &Static{sets: make(map[string][]Instance, len(addrs)), changed: make(chan struct{})}
	for svc, list := range addrs {
		seen := make(map[string]bool, len(list))
		var set []Instance
		for _, a := range list {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return nil, fmt.Errorf("static instances of %s: %q: %w", svc, a, err)
			}
			if seen[a] {
				continue
			}
			seen[a] = true
			set = append(set, Instance{ID: a, Address: a})
		}
		sortInstances(set)
		s.sets[svc] = set
	}
	return s, nil
}

// Instances implements Resolver.
func (s *Static) Instances(service string) []Instance { return s.sets[service] }

// Changed implements Resolver; the channel is closed only by Close.
func (s *Static) Changed() <-chan struct{} { return s.changed }

// Ready implements Resolver: a static list is always known.
func (s *Static) Ready() error { return nil }

// Close implements Resolver.
func (s *Static) Close() error {
	s.closeOnce.Do(func() { close(s.changed) })
	return nil
}
