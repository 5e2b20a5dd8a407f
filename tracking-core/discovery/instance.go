package discovery

import "slices"

// Instance is one healthy replica of a service.
type Instance struct {
	// ID identifies the instance: its Consul service ID, or its address for a
	// static list.
	ID string
	// Address is host:port, ready for an http:// URL.
	Address string
}

// sortInstances orders instances by ID then address, so that equal sets
// compare equal and callers see a stable order.
func sortInstances(in []Instance) {
	slices.SortFunc(in, func(a, b Instance) int {
		if a.ID != b.ID {
			if a.ID < b.ID {
				return -1
			}
			return 1
		}
		if a.Address < b.Address {
			return -1
		}
		if a.Address > b.Address {
			return 1
		}
		return 0
	})
}
