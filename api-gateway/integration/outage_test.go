package integration_test

import (
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/teamtrack/tracking-core/servicetest"
)

// TestConsulOutageKeepsLastKnownSet stops the Consul agent
// (TEST_CONSUL_STOP_CMD): the gateway keeps routing to the last healthy
// instances it knew, so a new SSE stream, a POST and a worker WebSocket
// through it still work for each strategy. Then the agent starts again
// (TEST_CONSUL_START_CMD); a -dev agent comes back empty, and the test waits
// until the replicas have registered again by themselves and the gateway
// follows them, so that the agent is as the other tests sharing it expect.
// Meanwhile the gateway must keep the last known instances (its resolver's
// grace after an empty answer that follows a reconnect): a GET through it
// every 100ms and its /readyz answer 200 all along, never 503, and it never
// logs an empty set of instances.
func TestConsulOutageKeepsLastKnownSet(t *testing.T) {
	svc := needConsulCommands(t)
	c := startCluster(t, svc, 2, 2, nil)
	c.restartsConsulItself = true
	ctx := t.Context()
	c.waitConsulQuiet(t, 30*time.Second)
	logFrom := len(c.gw.logLines())

	stopped := true
	runShell(t, svc.consulStop)
	stoppedAt := time.Now()
	t.Cleanup(func() {
		// Whatever failed, leave the agent running for the other tests.
		if stopped {
			if out, err := exec.Command("sh", "-c", svc.consulStart).CombinedOutput(); err != nil {
				t.Errorf("start consul again: %v\n%s", err, out)
			}
		}
	})
	testsupport.Eventually(t, 10*time.Second, "consul to stop answering", func() bool { _, err := c.consul.leader(ctx); return err != nil })
	testsupport.Eventually(t, 15*time.Second, "the gateway to notice that consul is gone", func() bool {
		for _, svcName := range serviceNames {
			if !c.gatewayLogged(logFrom, "consul unreachable", svcName) {
				return false
			}
		}
		return true
	})
	// Its /readyz and a GET through it answer 200 all along, and new
	// connections work, while its resolver retries the agent.
	down := watchStatuses(c, c.tagged("down"), "with consul down")
	t.Cleanup(func() { down.stop() })
	for _, strategy := range []string{"redis", "kafka"} {
		t.Run("consul down/"+strategy, func(t *testing.T) {
			c.checkRoutes(t, strategy, "down")
		})
	}
	<-time.After(3 * time.Second) // the window watched, not a synchronisation
	down.check(t)
	t.Logf("routed through the last known instances for %v with consul down", time.Since(stoppedAt).Round(time.Millisecond))

	// Back up, empty. Watch what the gateway answers while the replicas
	// register again.
	watch := watchStatuses(c, c.tagged("watch"), "while consul came back empty and the replicas registered again")
	t.Cleanup(func() { watch.stop() })
	startAt := time.Now()
	runShell(t, svc.consulStart)
	stopped = false
	testsupport.Eventually(t, 30*time.Second, "consul to elect a leader again", func() bool { l, err := c.consul.leader(ctx); return err == nil && l != "" })
	leaderAfter := time.Since(startAt)
	c.waitRegistered(t, 40*time.Second)
	t.Logf("consul had a leader %v after the start command; the replicas were registered again, passing, and followed by the gateway %v after it",
		leaderAfter.Round(time.Millisecond), time.Since(startAt).Round(time.Millisecond))
	watch.check(t)
	for _, strategy := range []string{"redis", "kafka"} {
		gap, lost := c.gapAfter(startAt, strategy)
		if lost {
			t.Errorf("%s", gap)
		} else {
			t.Log(gap)
		}
		t.Run("consul back/"+strategy, func(t *testing.T) {
			c.checkRoutes(t, strategy, "back")
		})
	}
}

// waitConsulQuiet waits, up to timeout, until the only services of the
// agent in use are this cluster's, so that stopping the agent does not pull
// it from under another test sharing it (other packages' Consul tests
// register their own services while they run). It goes on after timeout.
func (c *cluster) waitConsulQuiet(t *testing.T, timeout time.Duration) {
	t.Helper()
	mine := map[string]bool{}
	for _, ps := range c.replicas {
		for _, p := range ps {
			mine[p.consulID()] = true
		}
	}
	start := time.Now()
	for {
		active, err := c.consul.activeServices()
		if err != nil {
			t.Fatal(err)
		}
		var others []string
		for id, name := range active {
			if !mine[id] {
				others = append(others, name+" "+id)
			}
		}
		switch d := time.Since(start); {
		case len(others) == 0:
			t.Logf("waited %v for other tests to stop using consul", d.Round(time.Millisecond))
			return
		case d > timeout:
			t.Logf("stopping consul although other services are in use after %v: %v", timeout, others)
			return
		}
		time.Sleep(200 * time.Millisecond) // polling the agent
	}
}

// checkRoutes opens a new SSE stream of a new team through the gateway,
// POSTs positions and sends some over a worker WebSocket, all through the
// gateway, and waits for the stream to show the last of them.
func (c *cluster) checkRoutes(t *testing.T, strategy, tag string) {
	t.Helper()
	base, ws := c.gwURL(strategy), c.gwWS(strategy)
	team := fmt.Sprintf("gwit-%s-%s-%s", c.id, strategy, tag)
	sse, err := servicetest.OpenSSE(base + "/" + team)
	if err != nil {
		t.Fatalf("new SSE stream: %v", err)
	}
	defer sse.Close()
	if err := postAll(base, team, "w1", 1, 5); err != nil {
		t.Fatal(err)
	}
	w, err := servicetest.DialWorker(ws + "/ws")
	if err != nil {
		t.Fatalf("worker WebSocket: %v", err)
	}
	defer w.Close()
	for i := 1; i <= 5; i++ {
		if err := w.Send(servicetest.Rec(team, "w2", i)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"w1": 5, "w2": 5}
	if !sse.WaitFor(15*time.Second, servicetest.HasAll(want)) {
		t.Fatalf("stream of %s: latest %v, want %v", team, servicetest.Latest(sse.Records()), want)
	}
}

// gatewayLogged reports whether the gateway logged, after its first from
// lines, a message containing msg about service.
func (c *cluster) gatewayLogged(from int, msg, service string) bool {
	lines := c.gw.logLines()
	for _, l := range lines[min(from, len(lines)):] {
		if strings.Contains(l.Msg, msg) && l.Service == service {
			return true
		}
	}
	return false
}

// gapAfter tells, from the gateway's log, how long after since it had no
// instance of the strategy's service, and whether it had none at all.
func (c *cluster) gapAfter(since time.Time, strategy string) (string, bool) {
	svcName := serviceNames[strategy]
	var emptyAt time.Time
	for _, l := range c.gw.logLines() {
		if l.Msg != "healthy instances" || l.Service != svcName || l.Time.Before(since) {
			continue
		}
		switch {
		case len(l.addrs()) == 0 && emptyAt.IsZero():
			emptyAt = l.Time
		case len(l.addrs()) > 0 && !emptyAt.IsZero():
			return fmt.Sprintf("%s: the gateway had no instance from %v to %v after the start command (%v): the agent came back empty",
				svcName, emptyAt.Sub(since).Round(time.Millisecond), l.Time.Sub(since).Round(time.Millisecond),
				l.Time.Sub(emptyAt).Round(time.Millisecond)), true
		}
	}
	if emptyAt.IsZero() {
		return svcName + ": the gateway never lost its instances", false
	}
	return svcName + ": the gateway had no instance from " + emptyAt.Sub(since).Round(time.Millisecond).String() + " on", true
}

// statusWatch polls a GET through the gateway per strategy, and the
// gateway's /readyz, and counts the answers, to show what clients see while
// the replicas register again.
type statusWatch struct {
	once  sync.Once
	quit  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	seen  map[string]map[string]int // URL path -> status -> count
	while string                    // when it watches, for the messages
}

func watchStatuses(c *cluster, teams map[string]string, while string) *statusWatch {
	w := &statusWatch{quit: make(chan struct{}), seen: map[string]map[string]int{}, while: while}
	client := &http.Client{Timeout: 5 * time.Second}
	paths := []string{"/readyz"}
	for strategy, team := range teams {
		paths = append(paths, "/tracking/"+strategy+"/"+team+"/positions")
	}
	for _, path := range paths {
		w.seen[path] = map[string]int{}
		w.wg.Go(func() {
			for {
				select {
				case <-w.quit:
					return
				case <-time.After(100 * time.Millisecond): // pace of the polling
				}
				status := "error"
				if res, err := client.Get(c.gw.url() + path); err == nil {
					res.Body.Close()
					status = fmt.Sprint(res.StatusCode)
				}
				w.mu.Lock()
				w.seen[path][status]++
				w.mu.Unlock()
			}
		})
	}
	return w
}

// stop ends the polling (it is idempotent) and tells what was seen.
func (w *statusWatch) stop() []string {
	w.once.Do(func() { close(w.quit) })
	w.wg.Wait()
	var out []string
	for _, p := range slices.Sorted(maps.Keys(w.seen)) {
		out = append(out, fmt.Sprintf("GET %s every 100ms %s: %v", p, w.while, w.seen[p]))
	}
	return out
}

// check stops the polling, logs what was seen and fails the test for any
// answer but 200, or for none at all.
func (w *statusWatch) check(t *testing.T) {
	t.Helper()
	for _, line := range w.stop() {
		t.Log(line)
	}
	for target, seen := range w.seen {
		if seen["200"] == 0 {
			t.Errorf("%s: no answer seen %s: %v", target, w.while, seen)
		}
		for status, n := range seen {
			if status != "200" {
				t.Errorf("%s: %d answer(s) %s %s, want only 200", target, n, status, w.while)
			}
		}
	}
}

// tagged is a team per strategy, named after tag.
func (c *cluster) tagged(tag string) map[string]string {
	return map[string]string{"redis": fmt.Sprintf("gwit-%s-redis-%s", c.id, tag), "kafka": fmt.Sprintf("gwit-%s-kafka-%s", c.id, tag)}
}
