package balance

import (
	"slices"

	"github.com/teamtrack/tracking-core/discovery"
)

// candidate is an instance with what an order sorts it by.
type candidate struct {
	inst    discovery.Instance
	active  int    // connections through this gateway
	failing bool   // refused a connection within the cooldown
	key     uint64 // the order's own: a random tie-breaker or a rendezvous score
}

// order returns insts sorted by cmp, recently failed instances last. t may be
// nil (no instance is failing then). insts is not modified.
func order(insts []discovery.Instance, t *Tracker, key func(discovery.Instance) uint64, cmp func(a, b candidate) int) []discovery.Instance {
	active, failing := t.snapshot(insts)
	cands := make([]candidate, len(insts))
	for i, in := range insts {
		cands[i] = candidate{inst: in, active: active[i], failing: failing[i], key: key(in)}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if a.failing != b.failing {
			if a.failing {
				return 1
			}
			return -1
		}
		return cmp(a, b)
	})
	out := make([]discovery.Instance, len(cands))
	for i, c := range cands {
		out[i] = c.inst
	}
	return out
}
