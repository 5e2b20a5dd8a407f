package kafkabroadcast

import (
	"fmt"
	"hash/fnv"
	"testing"

	gometrics "github.com/rcrowley/go-metrics"
)

// The partition of a team must never change between builds: replicas of
// different versions share the topics.
func TestPartitionOfIsStable(t *testing.T) {
	for team, want := range map[string]int32{"team_one": 11, "team_two": 5, "a": 4} {
		if got := partitionOf(team, 12); got != want {
			t.Errorf("partitionOf(%q, 12) = %d, want %d", team, got, want)
		}
		h := fnv.New32a()
		h.Write([]byte(team))
		if got, fnv := partitionOf(team, 7), int32(h.Sum32()%7); got != fnv {
			t.Errorf("partitionOf(%q, 7) = %d, FNV-1a says %d", team, got, fnv)
		}
	}
	seen := make(map[int32]int)
	for i := 0; i < 1200; i++ {
		p := partitionOf(fmt.Sprintf("team_%d", i), 12)
		if p < 0 || p >= 12 {
			t.Fatalf("partition %d out of range", p)
		}
		seen[p]++
	}
	for p := int32(0); p < 12; p++ {
		if seen[p] < 50 {
			t.Errorf("partition %d holds %d of 1200 teams: poor spread %v", p, seen[p], seen)
		}
	}
}

func TestDiscardRegistryHandsOutNoOps(t *testing.T) {
	var r gometrics.Registry = discardRegistry{}
	if _, ok := gometrics.GetOrRegisterMeter("m", r).(gometrics.NilMeter); !ok {
		t.Error("meter is not a no-op")
	}
	if _, ok := gometrics.GetOrRegisterCounter("c", r).(gometrics.NilCounter); !ok {
		t.Error("counter is not a no-op")
	}
	h := r.GetOrRegister("h", func() gometrics.Histogram { return gometrics.NewHistogram(gometrics.NewUniformSample(10)) })
	if _, ok := h.(gometrics.NilHistogram); !ok {
		t.Error("histogram is not a no-op")
	}
}
