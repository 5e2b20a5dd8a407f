package balance

import (
	"cmp"
	"hash/fnv"
	"strings"

	"github.com/teamtrack/tracking-core/discovery"
)

// Rendezvous returns insts ordered by their rendezvous (highest random
// weight) score for key, best first: every gateway sends one team to the same
// instance, and when an instance joins or leaves only the teams it wins or
// held move. The score depends on the instance's address only (not on its
// ID), so it is the same on every gateway and survives re-registration.
// Recently failed instances come last. insts is not modified.
func Rendezvous(key string, insts []discovery.Instance, t *Tracker) []discovery.Instance {
	score := func(in discovery.Instance) uint64 { return Score(key, in.Address) }
	return order(insts, t, score, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(b.key, a.key), strings.Compare(a.inst.Address, b.inst.Address))
	})
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
