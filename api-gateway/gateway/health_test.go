package gateway

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/buildinfo"
	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/teamtrack/tracking-core/discovery"
)

func TestHealthReadyMetricsAndView(t *testing.T) {
	up := newUpstream(t, "a", nil)
	res, _ := discovery.NewStatic(map[string][]string{redisSvc: {up.addr()}, kafkaSvc: {testsupport.FreeAddr(t)}})
	view := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("view " + r.URL.Path))
	})
	g := newTestGatewayWith(t, Config{Resolver: res, View: view})

	bi := buildinfo.Get()
	if r, body := g.get(t, "/healthz"); r.StatusCode != 200 ||
		body != `{"commit":"`+bi.Commit+`","date":"`+bi.Date+`","status":"ok","version":"`+bi.Version+`"}` {
		t.Fatalf("/healthz: %d %q", r.StatusCode, body)
	}
	if r, body := g.get(t, "/readyz"); r.StatusCode != 200 {
		t.Fatalf("/readyz: %d %q", r.StatusCode, body)
	}
	for _, p := range []string{"/", "/assets/app.js"} {
		if r, body := g.get(t, p); r.StatusCode != 200 || body != "view "+p {
			t.Fatalf("%s: %d %q", p, r.StatusCode, body)
		}
	}
	g.get(t, "/tracking/redis/team_one/positions")
	r, body := g.get(t, "/metrics")
	for _, want := range []string{
		`gateway_requests_total{code="200",route="positions",strategy="redis",upstream="` + up.addr() + `"} 1`,
		`gateway_request_duration_seconds_count{route="positions",strategy="redis",upstream="` + up.addr() + `"} 1`,
		`gateway_active_connections{route="positions",strategy="redis",upstream="` + up.addr() + `"} 0`,
		`gateway_upstream_instances{strategy="redis"} 1`,
		`gateway_upstream_instances{strategy="kafka"} 1`,
		`go_goroutines`,
		`build_info{commit="` + bi.Commit + `",date="` + bi.Date + `",goversion="` + bi.GoVersion + `",version="` + bi.Version + `"} 1`,
	} {
		if r.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	g.SetDraining()
	if r, _ := g.get(t, "/readyz"); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while draining: %d", r.StatusCode)
	}
	if r, _ := g.get(t, "/healthz"); r.StatusCode != 200 {
		t.Fatalf("/healthz while draining: %d", r.StatusCode)
	}
}

// notReady is a resolver that has not learnt its sets yet.
type notReady struct{ *discovery.Static }

func (notReady) Ready() error { return errors.New("not yet learnt") }

func TestReadyzWaitsForDiscovery(t *testing.T) {
	s, _ := discovery.NewStatic(nil)
	g := newTestGatewayWith(t, Config{Resolver: notReady{s}, RetryAfter: 3 * time.Second})
	r, body := g.get(t, "/readyz")
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "3" {
		t.Fatalf("/readyz: %d %q", r.StatusCode, body)
	}
	if e := decodeError(t, r, body); e.Code != "unavailable" || e.Message != "service discovery has not answered yet" {
		t.Fatalf("/readyz: %+v", e)
	}
	if strings.Contains(body, "not yet learnt") {
		t.Errorf("/readyz shows the resolver's own error to clients: %s", body)
	}
}

// TestReadyzNeedsAnInstanceOfEveryStrategy: a gateway whose discovery
// answered but that knows no instance of a strategy is not ready, and turns
// ready once it knows one.
func TestReadyzNeedsAnInstanceOfEveryStrategy(t *testing.T) {
	res := &switchable{Static: mustStatic(t, nil), sets: map[string][]string{redisSvc: {testsupport.FreeAddr(t)}}}
	g := newTestGatewayWith(t, Config{Resolver: res})
	r, body := g.get(t, "/readyz")
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("/readyz with no kafka instance: %d %q", r.StatusCode, body)
	}
	if e := decodeError(t, r, body); e.Code != "unavailable" || e.Message != "no healthy instance for kafka ("+kafkaSvc+")" {
		t.Fatalf("/readyz with no kafka instance: %+v", e)
	}

	res.set(kafkaSvc, testsupport.FreeAddr(t))
	if r, body := g.get(t, "/readyz"); r.StatusCode != http.StatusOK {
		t.Fatalf("/readyz with instances of both: %d %q", r.StatusCode, body)
	}
	res.set(redisSvc)
	r, body = g.get(t, "/readyz")
	if e := decodeError(t, r, body); r.StatusCode != http.StatusServiceUnavailable || e.Message != "no healthy instance for redis ("+redisSvc+")" {
		t.Fatalf("/readyz once redis has no instance: %d %+v", r.StatusCode, e)
	}
}

// switchable is a resolver whose sets the test replaces.
type switchable struct {
	*discovery.Static // Changed, Ready and Close
	mu                sync.Mutex
	sets              map[string][]string // service -> addresses
}

func (s *switchable) set(service string, addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sets[service] = addrs
}

func (s *switchable) Instances(service string) []discovery.Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []discovery.Instance
	for _, a := range s.sets[service] {
		out = append(out, discovery.Instance{ID: a, Address: a})
	}
	return out
}
