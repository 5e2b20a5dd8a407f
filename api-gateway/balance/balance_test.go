package balance

import (
	"fmt"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/discovery"
)

func insts(addrs ...string) []discovery.Instance {
	out := make([]discovery.Instance, len(addrs))
	for i, a := range addrs {
		out[i] = discovery.Instance{ID: "id-" + a, Address: a}
	}
	return out
}

func addrsOf(in []discovery.Instance) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.Address
	}
	return out
}

func TestLeastConnectionsPicksFewest(t *testing.T) {
	tr := NewTracker(time.Minute)
	all := insts("a:1", "b:1", "c:1")
	tr.Acquire("a:1")
	tr.Acquire("a:1")
	relB := tr.Acquire("b:1")
	got := addrsOf(LeastConnections(all, tr))
	if fmt.Sprint(got) != "[c:1 b:1 a:1]" {
		t.Fatalf("order %v, want [c:1 b:1 a:1]", got)
	}
	relB()
	relB() // idempotent
	if n := tr.Active("b:1"); n != 0 {
		t.Fatalf("Active(b) = %d after release", n)
	}
	if first := LeastConnections(all, tr)[0].Address; first == "a:1" {
		t.Fatalf("picked the busiest instance")
	}
}

func TestLeastConnectionsBreaksTiesAtRandom(t *testing.T) {
	tr := NewTracker(time.Minute)
	all := insts("a:1", "b:1", "c:1")
	seen := map[string]bool{}
	for range 200 {
		seen[LeastConnections(all, tr)[0].Address] = true
	}
	if len(seen) != 3 {
		t.Fatalf("first picks over 200 tied orders: %v, want all three", seen)
	}
}

func TestFailedInstancesComeLastUntilCooldownEnds(t *testing.T) {
	tr := NewTracker(time.Minute)
	now := time.Unix(1000, 0)
	tr.now = func() time.Time { return now }
	all := insts("a:1", "b:1")
	tr.Acquire("b:1")
	tr.Failed("a:1")
	if got := LeastConnections(all, tr)[0].Address; got != "b:1" {
		t.Fatalf("least connections picked the failed instance %s", got)
	}
	key := teamOwnedBy(t, "a:1", all)
	if got := Rendezvous(key, all, tr)[0].Address; got != "b:1" {
		t.Fatalf("rendezvous picked the failed instance %s", got)
	}
	now = now.Add(2 * time.Minute)
	if got := LeastConnections(all, tr)[0].Address; got != "a:1" {
		t.Fatalf("after the cooldown: %s, want a:1 again", got)
	}
	tr.Failed("a:1")
	tr.Succeeded("a:1")
	if got := Rendezvous(key, all, tr)[0].Address; got != "a:1" {
		t.Fatalf("after a success: %s, want a:1 again", got)
	}
}

// teamOwnedBy finds a key whose rendezvous winner is addr.
func teamOwnedBy(t *testing.T, addr string, all []discovery.Instance) string {
	t.Helper()
	for i := range 1000 {
		k := fmt.Sprintf("team_%d", i)
		if Rendezvous(k, all, nil)[0].Address == addr {
			return k
		}
	}
	t.Fatalf("no team owned by %s", addr)
	return ""
}

func TestRendezvousIsStableAndSpreads(t *testing.T) {
	all := insts("10.0.0.1:8081", "10.0.0.2:8081", "10.0.0.3:8081")
	reversed := []discovery.Instance{all[2], all[1], all[0]}
	owners := map[string]string{}
	count := map[string]int{}
	const teams = 3000
	for i := range teams {
		k := fmt.Sprintf("team_%d", i)
		a := Rendezvous(k, all, nil)[0].Address
		if b := Rendezvous(k, reversed, nil)[0].Address; a != b {
			t.Fatalf("%s: %s in one order, %s in another", k, a, b)
		}
		owners[k] = a
		count[a]++
	}
	for a, n := range count {
		if n < teams/3*8/10 || n > teams/3*12/10 {
			t.Errorf("%s owns %d of %d teams, want about a third", a, n, teams)
		}
	}
	// Removing one instance moves only its teams.
	rest := all[:2]
	moved := 0
	for k, owner := range owners {
		now := Rendezvous(k, rest, nil)[0].Address
		if owner != all[2].Address && now != owner {
			t.Fatalf("%s moved from %s to %s although its owner stayed", k, owner, now)
		}
		if now != owner {
			moved++
		}
	}
	if moved != count[all[2].Address] {
		t.Fatalf("%d teams moved, want %d", moved, count[all[2].Address])
	}
}

func TestOrdersDoNotModifyInput(t *testing.T) {
	all := insts("c:1", "a:1", "b:1")
	before := fmt.Sprint(all)
	LeastConnections(all, NewTracker(time.Second))
	Rendezvous("k", all, NewTracker(time.Second))
	if fmt.Sprint(all) != before {
		t.Fatalf("input modified: %v", all)
	}
	if len(LeastConnections(nil, NewTracker(time.Second))) != 0 || len(Rendezvous("k", nil, nil)) != 0 {
		t.Fatal("non-empty order of no instances")
	}
}
