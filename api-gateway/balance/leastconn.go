package balance

import (
	"cmp"
	"math/rand/v2"

	"github.com/teamtrack/tracking-core/discovery"
)

// LeastConnections returns insts ordered by the number of active connections
// t counts to them, fewest first; ties are broken at random so that several
// gateways starting at once do not all pick the same instance. Recently failed
// instances come last. insts is not modified.
func LeastConnections(insts []discovery.Instance, t *Tracker) []discovery.Instance {
	return order(insts, t, func(discovery.Instance) uint64 { return rand.Uint64() }, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.active, b.active), cmp.Compare(a.key, b.key))
	})
}
