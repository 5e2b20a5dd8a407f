package balance

import (
	"math/rand/v2"
	"slices"

	"github.com/teamtrack/tracking-core/discovery"
)

// LeastConnections returns insts ordered by the number of active connections
// t counts to them, fewest first; ties are broken at random so that several
// gateways starting at once do not all pick the same instance. Recently failed
// instances come last. insts is not modified.
func LeastConnections(insts []discovery.Instance, t *Tracker) []discovery.Instance {
	type cand struct {
		inst    discovery.Instance
		active  int
		failing bool
		tie     uint32
	}
	addrs := make([]string, len(insts))
	for i, in := range insts {
		addrs[i] = in.Address
	}
	active, failing := t.snapshot(addrs)
	cands := make([]cand, len(insts))
	for i, in := range insts {
		cands[i] = cand{inst: in, active: active[i], failing: failing[i], tie: rand.Uint32()}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.failing != b.failing:
			if a.failing {
				return 1
			}
			return -1
		case a.active != b.active:
			return a.active - b.active
		case a.tie < b.tie:
			return -1
		case a.tie > b.tie:
			return 1
		}
		return 0
	})
	out := make([]discovery.Instance, len(cands))
	for i, c := range cands {
		out[i] = c.inst
	}
	return out
}
