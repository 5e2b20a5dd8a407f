package integration_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/servicetest"
)

// Bounds of TestKilledReplicaIsAvoided.
const (
	// avoidWithin is how soon after a replica dies the gateway must stop
	// sending new connections to it (Consul's check runs every 5s).
	avoidWithin = 10 * time.Second
	// probeAfter is how long new connections are watched after avoidWithin.
	probeAfter = 3 * time.Second
)

// TestKilledReplicaIsAvoided kills with SIGKILL (no deregistration, no
// reconnect hint) the replica that holds a team's SSE manager and one
// worker's WebSocket, for each strategy. The manager's stream and the
// worker's connection break; both reconnect through the gateway as real
// clients do, the manager's first records are the snapshot of the team's
// workers and the worker's new positions reach it live. Meanwhile new worker
// WebSockets, SSE streams of teams whose rendezvous instance is the dead one,
// and POSTs are opened through the gateway without pause: from avoidWithin
// after the kill on, none fails, the gateway no longer tries the dead replica
// (its connect failures to it stop growing) and every one of them is open on
// the surviving replica.
func TestKilledReplicaIsAvoided(t *testing.T) {
	svc := needServices(t)
	c := startCluster(t, svc, 2, 2, nil)
	for _, strategy := range []string{"redis", "kafka"} {
		t.Run(strategy, func(t *testing.T) { c.checkKill(t, strategy) })
	}
}

func (c *cluster) checkKill(t *testing.T, strategy string) {
	reps := c.replicas[strategy]
	victim, survivor := reps[0], reps[1]
	base, ws := c.gwURL(strategy), c.gwWS(strategy)
	team := c.teamOwnedBy(t, strategy+"-kill", victim, reps)

	// Two workers that then stay silent: the snapshot after the failover must
	// still hold them.
	silent := map[string]int{"s1": 3, "s2": 3}
	for w, n := range silent {
		if err := postAll(base, team, w, 1, n); err != nil {
			t.Fatal(err)
		}
	}
	waitKnown(t, base, team, silent)
	sse, err := servicetest.OpenSSE(base + "/" + team)
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	waitGauges(t, reps, "manager_sse", []float64{1, 0})
	if !sse.WaitFor(15*time.Second, servicetest.HasAll(silent)) {
		t.Fatalf("manager on the team's replica: no snapshot: %v", servicetest.Latest(sse.Records()))
	}

	// A worker WebSocket on the victim. Least connections decides where it
	// goes; the ones that land on the survivor stay open there, idle.
	onVictim := dialOnto(t, reps, "worker_ws", func() *servicetest.Worker {
		w, err := servicetest.DialWorker(ws + "/ws")
		if err != nil {
			t.Fatal(err)
		}
		return w
	}, (*servicetest.Worker).Close)
	// It sends a position every 100ms and dials again when a send fails.
	mover := startSender(onVictim, team, "mover", 100*time.Millisecond, func() (*servicetest.Worker, error) {
		return servicetest.DialWorker(ws + "/ws")
	})
	defer mover.stop()
	if !sse.WaitFor(15*time.Second, servicetest.HasAll(map[string]int{"mover": 3})) {
		t.Fatalf("the worker's positions did not reach the manager before the kill: %v", servicetest.Latest(sse.Records()))
	}

	var probeTeams []string // teams whose rendezvous instance is the victim
	for i := range 200 {
		probeTeams = append(probeTeams, c.teamOwnedBy(t, fmt.Sprintf("%s-probe%d", strategy, i), victim, reps))
	}
	killedAt := c.kill(t, victim)
	probes := make(chan *probeReport, 1)
	go func() { probes <- c.probe(strategy, victim, survivor, probeTeams, killedAt) }()
	defer func() { (<-probes).close() }()

	// The manager: its stream breaks (no hint: the replica was killed); it
	// opens the stream again through the gateway.
	select {
	case <-sse.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the SSE stream through the killed replica did not end")
	}
	t.Logf("manager's stream ended %v after the kill (events %v)", time.Since(killedAt).Round(time.Millisecond), sse.Events())
	reopened := again(t, "reopen the manager's stream", 10*time.Second, func() (*servicetest.Stream, error) {
		return servicetest.OpenSSE(base + "/" + team)
	})
	defer reopened.Close()
	if !reopened.WaitFor(10*time.Second, func(r []servicetest.Record) bool { return len(r) >= 3 }) {
		t.Fatalf("reopened stream: %d records, want the snapshot of 3 workers", len(reopened.Records()))
	}
	first := reopened.Records()[:3]
	got := servicetest.Latest(first)
	if len(got) != 3 || got["s1"] != 3 || got["s2"] != 3 || got["mover"] < 1 {
		t.Fatalf("first records of the reopened stream %v, want the snapshot s1.3, s2.3 and mover's last position", first)
	}
	t.Logf("reopened stream on the survivor: snapshot %v", got)

	// The worker: its connection broke, it dialled again through the gateway,
	// and its new positions reach the manager.
	resumed := mover.waitResumed(t, 10*time.Second)
	if !reopened.WaitFor(15*time.Second, servicetest.HasAll(map[string]int{"mover": resumed + 2})) {
		t.Fatalf("the worker reconnected (sending from %d on) but the manager has %v", resumed, servicetest.Latest(reopened.Records()))
	}
	t.Logf("worker reconnected %d time(s), sending again from position %d (killed at %s; errors %q)",
		mover.state().reconnects, resumed, killedAt.Format("15:04:05.000"), mover.state().errs)
	if lost := resumed - 1 - got["mover"]; lost > 0 {
		// The mover only notices a broken connection when a send fails.
		t.Logf("worker positions %d..%d were written without error on the broken connection and never delivered",
			got["mover"]+1, resumed-1)
	}
	if g := survivor.metric(t, "tracking_connections", map[string]string{"kind": "manager_sse"}); g < 1 {
		t.Errorf("the reopened manager is not on the survivor (manager_sse %v)", g)
	}

	r := <-probes
	probes <- r // for the deferred close
	r.check(t, c, strategy, victim, killedAt)
}

// probeReport is what the probe saw after the kill.
type probeReport struct {
	outcomes []probeOutcome
	workers  []*servicetest.Worker
	streams  []*servicetest.Stream
	err      error // a failure to read metrics
	// At avoidWithin and at the end: the gateway's connect failures to the
	// dead replica, and the survivor's open connections by kind.
	connectErrs [2]float64
	survivor    [2]map[string]float64
	openedAfter map[string]int // connections opened after avoidWithin, by kind
}

type probeOutcome struct {
	at   time.Duration // since the kill
	what string
	err  error
}

var probeKinds = []string{"worker_ws", "manager_sse"}

// probe opens new connections through the gateway, one round after the
// other, from the kill until avoidWithin+probeAfter after it: a worker
// WebSocket that sends one position, an SSE stream of a team whose
// rendezvous instance is the dead replica, and a POST. The WebSockets and
// streams stay open (so the survivor's gauges count them) until close.
func (c *cluster) probe(strategy string, victim, survivor *proc, teams []string, killedAt time.Time) *probeReport {
	r := &probeReport{openedAfter: map[string]int{}}
	base, ws := c.gwURL(strategy), c.gwWS(strategy)
	snapshot := func(i int) bool {
		gm, err := scrape(c.gw.url())
		var sm metricSet
		if err == nil {
			sm, err = scrape(survivor.url())
		}
		if r.err = err; err != nil {
			return false
		}
		r.connectErrs[i] = gm.sum("gateway_upstream_errors_total", map[string]string{"upstream": victim.addr, "kind": "connect"})
		r.survivor[i] = map[string]float64{}
		for _, k := range probeKinds {
			r.survivor[i][k] = sm.sum("tracking_connections", map[string]string{"kind": k})
		}
		return true
	}
	after := false
	for round := 0; round < len(teams); round++ {
		since := time.Since(killedAt)
		if since >= avoidWithin+probeAfter {
			break
		}
		if !after && since >= avoidWithin {
			if !snapshot(0) {
				return r
			}
			after = true
		}
		team := teams[round]
		record := func(what string, err error) {
			r.outcomes = append(r.outcomes, probeOutcome{time.Since(killedAt), what, err})
			if err == nil && after && what != "POST" {
				r.openedAfter[what]++
			}
		}
		w, err := servicetest.DialWorker(ws + "/ws")
		if err == nil {
			r.workers = append(r.workers, w)
			err = w.Send(servicetest.Rec(team, "probe", 1))
		}
		record("worker_ws", err)
		st, err := servicetest.OpenSSE(base + "/" + team)
		if err == nil {
			r.streams = append(r.streams, st)
		}
		record("manager_sse", err)
		record("POST", postAll(base, team, "probe", 2, 2))
		time.Sleep(100 * time.Millisecond) // pace of the rounds
	}
	if after {
		// Let the last connections show in the survivor's gauge.
		deadline := time.Now().Add(5 * time.Second)
		for snapshot(1) && !r.allCounted() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // polling the survivor's metrics
		}
	}
	return r
}

func (r *probeReport) allCounted() bool {
	for _, k := range probeKinds {
		if r.survivor[1][k]-r.survivor[0][k] < float64(r.openedAfter[k]) {
			return false
		}
	}
	return true
}

func (r *probeReport) close() {
	for _, w := range r.workers {
		w.Close()
	}
	for _, st := range r.streams {
		st.Close()
	}
}

func (r *probeReport) check(t *testing.T, c *cluster, strategy string, victim *proc, killedAt time.Time) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("probe: %v", r.err)
	}
	if r.survivor[0] == nil {
		t.Fatalf("the probe did not reach %v after the kill (%d rounds)", avoidWithin, len(r.outcomes)/3)
	}
	var before, after, failedBefore int
	for _, o := range r.outcomes {
		if o.at < avoidWithin {
			before++
			if o.err != nil {
				failedBefore++
				t.Logf("%v after the kill: %s failed (tolerated before %v): %v", o.at.Round(time.Millisecond), o.what, avoidWithin, o.err)
			}
			continue
		}
		after++
		if o.err != nil {
			t.Errorf("%v after the kill: %s through the gateway failed: %v", o.at.Round(time.Millisecond), o.what, o.err)
		}
	}
	if after == 0 {
		t.Fatalf("no connection opened after %v", avoidWithin)
	}
	if r.connectErrs[1] != r.connectErrs[0] {
		t.Errorf("the gateway still tried the dead replica %s after %v: connect failures %v then %v",
			victim.addr, avoidWithin, r.connectErrs[0], r.connectErrs[1])
	}
	for _, k := range probeKinds {
		if d := r.survivor[1][k] - r.survivor[0][k]; d < float64(r.openedAfter[k]) {
			t.Errorf("%d %s connections opened after %v, but the survivor's gauge grew by %v only", r.openedAfter[k], k, avoidWithin, d)
		}
	}
	// When the gateway's view dropped the dead replica, from its resolver's log.
	dropped := "never"
	for _, l := range c.gw.logLines() {
		if l.Msg == "healthy instances" && l.Service == serviceNames[strategy] && l.Time.After(killedAt) && !slices.Contains(l.addrs(), victim.addr) {
			dropped = l.Time.Sub(killedAt).Round(time.Millisecond).String() + " after the kill"
			break
		}
	}
	t.Logf("%d connections/POSTs before %v (%d failed), %d after; the gateway's connect failures to the dead replica: %v by %v, %v at the end; its view dropped the dead replica %s",
		before, avoidWithin, failedBefore, after, r.connectErrs[0], avoidWithin, r.connectErrs[1], dropped)
}
