package gateway

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/discovery"
)

func TestHealthReadyMetricsAndView(t *testing.T) {
	up := newUpstream(t, "a", nil)
	res, _ := discovery.NewStatic(map[string][]string{redisSvc: {up.addr()}})
	view := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("view " + r.URL.Path))
	})
	g := newTestGatewayWith(t, Config{Resolver: res, View: view})

	if r, body := g.get(t, "/healthz"); r.StatusCode != 200 || !strings.Contains(body, "ok") {
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
		`go_goroutines`,
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
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "3" || !strings.Contains(body, "not yet learnt") {
		t.Fatalf("/readyz: %d %q", r.StatusCode, body)
	}
}
