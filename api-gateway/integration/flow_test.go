package integration_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/servicetest"
)

// TestPositionsFlowThroughGateway runs two replicas of each strategy
// registered in the real Consul and the gateway binary following them. For
// each strategy, everything goes through the gateway: two teams, one owned by
// each replica (the gateway sends a team's streams to its rendezvous
// instance), each watched by an SSE and a WebSocket manager; per team two
// worker WebSockets, which least connections puts on different replicas (so
// every team has a worker on the replica that does not hold its managers and
// the broker carries its positions across), and one NDJSON POST. Every
// manager sees every worker's positions, in order.
func TestPositionsFlowThroughGateway(t *testing.T) {
	svc := needServices(t)
	c := startCluster(t, svc, 2, 2, nil)
	for _, strategy := range []string{"redis", "kafka"} {
		t.Run(strategy, func(t *testing.T) { c.checkFlow(t, strategy) })
	}
}

func (c *cluster) checkFlow(t *testing.T, strategy string) {
	reps := c.replicas[strategy]
	base, ws := c.gwURL(strategy), c.gwWS(strategy)
	teams := []string{c.teamOwnedBy(t, strategy+"-flow", reps[0], reps), c.teamOwnedBy(t, strategy+"-flow", reps[1], reps)}

	// A first position per team, stored before the managers connect: getting
	// it in their snapshot shows they are subscribed before the workers send.
	for _, team := range teams {
		if err := postAll(base, team, "w0", 1, 1); err != nil {
			t.Fatal(err)
		}
		waitKnown(t, base, team, map[string]int{"w0": 1})
	}
	type manager struct {
		name, team string
		st         *servicetest.Stream
	}
	var managers []manager
	for _, team := range teams {
		sse, err := servicetest.OpenSSE(base + "/" + team)
		if err != nil {
			t.Fatal(err)
		}
		defer sse.Close()
		mws, err := servicetest.OpenManagerWS(ws + "/" + team + "/ws")
		if err != nil {
			t.Fatal(err)
		}
		defer mws.Close()
		managers = append(managers, manager{"SSE manager of " + team, team, sse}, manager{"WebSocket manager of " + team, team, mws})
	}
	// One team per replica: each holds one SSE and one WebSocket manager.
	waitGauges(t, reps, "manager_sse", []float64{1, 1})
	waitGauges(t, reps, "manager_ws", []float64{1, 1})
	for _, m := range managers {
		if !m.st.WaitFor(15*time.Second, servicetest.HasAll(map[string]int{"w0": 1})) {
			t.Fatalf("%s did not get the snapshot through the gateway: %v", m.name, servicetest.Latest(m.st.Records()))
		}
	}

	// Worker WebSockets, two per team, dialled in turn: with the replicas
	// tied, least connections puts the second of each pair on the other
	// replica than the first.
	type worker struct {
		team, name string
		w          *servicetest.Worker
	}
	var workers []worker
	for _, team := range teams {
		var placed []int
		for _, name := range []string{"ws-a", "ws-b"} {
			before := gauges(t, reps, "worker_ws")
			w, err := servicetest.DialWorker(ws + "/ws")
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			placed = append(placed, landing(t, reps, "worker_ws", before))
			workers = append(workers, worker{team, name, w})
		}
		if placed[0] == placed[1] {
			t.Fatalf("both worker WebSockets of %s went to %s: least connections should spread them", team, reps[placed[0]].addr)
		}
	}

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, len(workers)+len(teams))
	for _, w := range workers {
		wg.Go(func() {
			for i := 1; i <= n; i++ {
				if err := w.w.Send(servicetest.Rec(w.team, w.name, i)); err != nil {
					errs <- fmt.Errorf("worker %s of %s: send %d: %w", w.name, w.team, i, err)
					return
				}
			}
		})
	}
	for _, team := range teams {
		wg.Go(func() {
			if err := postAll(base, team, "post", 1, n); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	want := map[string]int{"w0": 1, "ws-a": n, "ws-b": n, "post": n}
	for _, m := range managers {
		if !m.st.WaitFor(15*time.Second, servicetest.HasAll(want)) {
			t.Fatalf("%s: latest %v, want %v", m.name, servicetest.Latest(m.st.Records()), want)
		}
		servicetest.CheckOrdered(t, m.name, m.team, m.st.Records(), 1, want)
	}
	for _, w := range workers {
		if a := w.w.Refusals(); len(a) > 0 {
			t.Errorf("worker %s of %s got answers %v, want none for good records", w.name, w.team, a)
		}
	}
	// Both replicas took worker records (the cross-replica path was used).
	for _, p := range reps {
		if n := p.metric(t, "tracking_records_total", map[string]string{"result": "accepted"}); n == 0 {
			t.Errorf("replica %s accepted no record", p.addr)
		}
	}
}
