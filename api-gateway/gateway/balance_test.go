package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/teamtrack/api-gateway/balance"
	"github.com/teamtrack/tracking-core/discovery"
)

// holdingUpstream answers every request with headers at once, then holds the
// response open until the test ends: a stand-in for a long worker stream.
func holdingUpstream(t *testing.T, name string) *upstream {
	done := make(chan struct{})
	u := newUpstream(t, name, func(w http.ResponseWriter, r *http.Request) {
		// Answer while the body goes on (else net/http drains it first).
		_ = http.NewResponseController(w).EnableFullDuplex()
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-done:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(done) })
	return u
}

// openStream starts a request and returns once its response headers arrived.
func openStream(t *testing.T, g *testGateway, method, path string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var body io.Reader
	if method == http.MethodPost {
		pr, pw := io.Pipe() // a worker's body that never ends
		t.Cleanup(func() { pw.Close() })
		body = pr
	}
	req, _ := http.NewRequestWithContext(ctx, method, g.url(path), body)
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 {
		t.Fatalf("%s %s: %d", method, path, res.StatusCode)
	}
	return res.Header.Get("X-Upstream")
}

func TestWorkersGoToLeastConnections(t *testing.T) {
	a, b, c := holdingUpstream(t, "a"), holdingUpstream(t, "b"), holdingUpstream(t, "c")
	g := newTestGateway(t, map[string][]string{redisSvc: {a.addr(), b.addr(), c.addr()}})
	count := map[string]int{}
	for i := range 9 {
		path, method := "/tracking/redis/", http.MethodPost
		if i%2 == 1 {
			path, method = "/tracking/redis/ws", http.MethodGet // same balancing as worker WebSockets
		}
		count[openStream(t, g, method, path)]++
	}
	if count["a"] != 3 || count["b"] != 3 || count["c"] != 3 {
		t.Fatalf("9 worker streams over 3 instances: %v, want 3 each", count)
	}
	if n := g.counter(t, "gateway_active_connections", map[string]string{"route": "publish"}); n != 5 {
		t.Errorf("active publish streams %v, want 5", n)
	}
}

func TestTeamStreamsGoToTheTeamsRendezvousInstance(t *testing.T) {
	ups := []*upstream{newUpstream(t, "a", nil), newUpstream(t, "b", nil), newUpstream(t, "c", nil)}
	byAddr := map[string]string{}
	var addrs []string
	for _, u := range ups {
		addrs = append(addrs, u.addr())
		byAddr[u.addr()] = u.name
	}
	g := newTestGateway(t, map[string][]string{redisSvc: addrs})
	insts := mustStatic(t, map[string][]string{redisSvc: addrs}).Instances(redisSvc) // what the gateway knows
	owners := map[string]bool{}
	for i := range 12 {
		team := fmt.Sprintf("team_%d", i)
		want := byAddr[balance.Rendezvous(team, insts, nil)[0].Address]
		owners[want] = true
		for _, p := range []string{"/tracking/redis/" + team, "/tracking/redis/" + team + "/positions", "/tracking/redis/" + team + "/ws"} {
			res, _ := g.get(t, p)
			if got := res.Header.Get("X-Upstream"); got != want {
				t.Fatalf("%s went to %s, want the team's instance %s", p, got, want)
			}
		}
	}
	if len(owners) < 2 {
		t.Errorf("12 teams all on one instance: %v", owners)
	}
}

func TestConnectFailureIsRetriedOnAnotherInstance(t *testing.T) {
	live := newUpstream(t, "live", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	dead := testsupport.FreeAddr(t)
	g := newTestGateway(t, map[string][]string{redisSvc: {dead, live.addr()}})
	insts := mustStatic(t, map[string][]string{redisSvc: {dead, live.addr()}}).Instances(redisSvc)
	// A team whose rendezvous instance is the dead one.
	team := ""
	for i := 0; team == ""; i++ {
		if k := fmt.Sprintf("team_%d", i); balance.Rendezvous(k, insts, nil)[0].Address == dead {
			team = k
		}
	}
	res, body := g.get(t, "/tracking/redis/"+team+"/positions")
	if res.StatusCode != 200 || res.Header.Get("X-Upstream") != "live" {
		t.Fatalf("%d from %q: %q", res.StatusCode, res.Header.Get("X-Upstream"), body)
	}
	if n := g.counter(t, "gateway_upstream_errors_total", map[string]string{"upstream": dead, "kind": "connect"}); n != 1 {
		t.Errorf("connect errors of the dead instance: %v, want 1", n)
	}
	// A body is not lost by the retry: POSTs whose first choice is dead still
	// arrive whole (the dead one is tried last for a while, so force it first).
	g.proxy.tracker.Succeeded(dead)
	for range 4 {
		res, err := g.client.Post(g.url("/tracking/redis/"), "application/x-ndjson", strings.NewReader("{\"a\":1}\n{\"a\":2}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, res); res.StatusCode != 200 || got != "{\"a\":1}\n{\"a\":2}\n" {
			t.Fatalf("POST: %d %q", res.StatusCode, got)
		}
	}
	testsupport.Eventually(t, 5*time.Second, "a request logged with attempts=2", func() bool { return strings.Contains(g.logs.String(), "attempts=2") })
}

func TestRecentlyFailedInstanceIsTriedLast(t *testing.T) {
	live := newUpstream(t, "live", nil)
	dead := testsupport.FreeAddr(t)
	g := newTestGatewayWith(t, Config{Resolver: mustStatic(t, map[string][]string{redisSvc: {dead, live.addr()}}),
		FailureCooldown: time.Hour})
	for range 6 {
		if res, _ := g.get(t, "/tracking/redis/ws"); res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	if n := g.counter(t, "gateway_upstream_errors_total", map[string]string{"kind": "connect"}); n > 1 {
		t.Errorf("the dead instance was tried %v times within its cooldown, want at most once", n)
	}
}

func mustStatic(t *testing.T, m map[string][]string) *discovery.Static {
	t.Helper()
	s, err := discovery.NewStatic(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
