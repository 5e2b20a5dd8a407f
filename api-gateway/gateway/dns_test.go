package gateway

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/discovery"
	"github.com/teamtrack/tracking-core/discovery/dnstest"
)

// upstreamAt is newUpstream listening on ip at port (two loopback
// addresses share a port, as pods behind one headless Service do).
func upstreamAt(t *testing.T, name, ip string, port int) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Skipf("cannot listen on %s:%d (needs the whole 127.0.0.0/8 on loopback): %v", ip, port, err)
	}
	u := newUpstream(t, name, nil)
	u.Close() // replaced by one on ln, with the same handler
	srv := httptest.NewUnstartedServer(u.Config.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	u.Server = srv
	return u
}

// With DNS discovery the gateway routes to the addresses behind the
// strategy's name as they come and go: a pod replaced by another, then
// none (503, not ready), then one again.
func TestGatewayFollowsDNS(t *testing.T) {
	a := newUpstream(t, "a", nil)
	_, portStr, _ := net.SplitHostPort(a.addr())
	port, _ := strconv.Atoi(portStr)
	b := upstreamAt(t, "b", "127.0.0.2", port)
	k := newUpstream(t, "k", nil)
	_, kport, _ := net.SplitHostPort(k.addr())

	dns := dnstest.Start(t)
	dns.Set("redis.teamtrack.svc.test", "127.0.0.1")
	dns.Set("kafka.teamtrack.svc.test", "127.0.0.1")
	res, err := discovery.NewDNS(discovery.DNSConfig{Names: map[string]string{
		redisSvc: "redis.teamtrack.svc.test:" + portStr,
		kafkaSvc: "kafka.teamtrack.svc.test:" + kport,
	}, Interval: 20 * time.Millisecond, Resolver: dns.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGatewayWith(t, Config{Resolver: res})

	// routedTo polls until a request to the redis strategy is answered by want
	// ("" : by the gateway itself with 503).
	routedTo := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, body := g.get(t, "/tracking/redis/team_one/positions")
			got := r.Header.Get("X-Upstream")
			if got == want && (want != "" || r.StatusCode == http.StatusServiceUnavailable && strings.Contains(body, `"code"`)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("redis routed to %q (%d %s), want %q", got, r.StatusCode, body, want)
			}
			time.Sleep(20 * time.Millisecond) // polling the resolver's next lookup
		}
	}
	routedTo("a")
	if r, body := g.get(t, "/readyz"); r.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d %s", r.StatusCode, body)
	}
	dns.Set("redis.teamtrack.svc.test", "127.0.0.2") // a replaced by b
	routedTo("b")
	if b.count() == 0 {
		t.Fatal("b answered without a request")
	}
	before := a.count()
	for range 5 {
		routedTo("b")
	}
	if a.count() != before {
		t.Fatal("a still gets requests after leaving the name")
	}
	dns.Set("redis.teamtrack.svc.test") // no ready pod
	routedTo("")
	if r, _ := g.get(t, "/readyz"); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with no redis instance: %d", r.StatusCode)
	}
	if v := g.gauge(t, "gateway_upstream_instances", "redis"); v != 0 {
		t.Fatalf("gateway_upstream_instances{strategy=redis} = %v, want 0", v)
	}
	dns.Set("redis.teamtrack.svc.test", "127.0.0.1", "127.0.0.2")
	// Teams are spread over the instances: over many, both answer.
	deadline := time.Now().Add(10 * time.Second)
	for seen := map[string]bool{}; !seen["a"] || !seen["b"]; {
		for i := range 20 {
			r, _ := g.get(t, "/tracking/redis/team_"+strconv.Itoa(i)+"/positions")
			seen[r.Header.Get("X-Upstream")] = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("with both addresses, 20 teams reached %v", seen)
		}
	}
	if v := g.gauge(t, "gateway_upstream_instances", "redis"); v != 2 {
		t.Fatalf("gateway_upstream_instances{strategy=redis} = %v, want 2", v)
	}
}

// gauge reads a gauge labelled strategy from the gateway's registry.
func (g *testGateway) gauge(t *testing.T, name, strategy string) float64 {
	t.Helper()
	mfs, err := g.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "strategy" && l.GetValue() == strategy {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{strategy=%q}", name, strategy)
	return 0
}
