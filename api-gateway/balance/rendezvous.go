package balance

import (
	"hash/fnv"
	"slices"

	"github.com/teamtrack/tracking-core/discovery"
)

// Rendezvous returns insts ordered by their rendezvous (highest random
// weight) score for key, best first: every gateway sends one team to the same
// instance, and when an instance joins or leaves only the teams it wins or
// held move. The score depends on the instance's address only (not on its
// ID), so it is the same on every gateway and survives re-registration.
// Recently failed instances come last. insts is not modified.
func Rendezvous(key string, insts []discovery.Instance, t *Tracker) []discovery.Instance {
	type cand struct {
		inst    discovery.Instance
		score   uint64
		failing bool
	}
	addrs := make([]string, len(insts))
	for i, in := range insts {
		addrs[i] = in.Address
	}
	var failing []bool
	if t != nil {
		_, failing = t.snapshot(addrs)
	} else {
		failing = make([]bool, len(insts))
	}
	cands := make([]cand, len(insts))
	for i, in := range insts {
		cands[i] = cand{inst: in, score: Score(key, in.Address), failing: failing[i]}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.failing != b.failing:
			if a.failing {
				return 1
			}
			return -1
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		case a.inst.Address < b.inst.Address:
			return -1
		case a.inst.Address > b.inst.Address:
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

// Score is the rendezvous weight of (key, addr): FNV-1a of both, separated by
// a zero byte, through a 64-bit finaliser so that close inputs spread out.
func Score(key, addr string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(addr))
	return mix64(h.Sum64())
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
