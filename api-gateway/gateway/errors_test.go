package gateway

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func decodeError(t *testing.T, res *http.Response, body string) errorBody {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if e.RequestID == "" || e.RequestID != res.Header.Get("X-Request-ID") {
		t.Errorf("error requestId %q, header %q", e.RequestID, res.Header.Get("X-Request-ID"))
	}
	return e
}

func TestUnknownStrategyIs404JSON(t *testing.T) {
	g := newTestGateway(t, map[string][]string{redisSvc: {deadAddr(t)}})
	for _, p := range []string{"/tracking/foo/team_one", "/tracking/foo", "/tracking/foo/", "/tracking", "/tracking/"} {
		res, body := g.get(t, p)
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d, want 404", p, res.StatusCode)
		}
		if e := decodeError(t, res, body); e.Code != "not_found" || e.Message == "" {
			t.Errorf("%s: %+v", p, e)
		}
	}
}

func TestNoHealthyInstanceIs503JSONWithRetryAfter(t *testing.T) {
	g := newTestGateway(t, map[string][]string{redisSvc: nil})
	for _, p := range []string{"/tracking/redis/team_one", "/tracking/kafka/ws"} {
		res, body := g.get(t, p)
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s: %d, want 503", p, res.StatusCode)
		}
		if res.Header.Get("Retry-After") != "2" {
			t.Errorf("%s: Retry-After %q", p, res.Header.Get("Retry-After"))
		}
		if e := decodeError(t, res, body); e.Code != "unavailable" {
			t.Errorf("%s: %+v", p, e)
		}
	}
	if n := g.counter(t, "gateway_requests_total", prometheus.Labels{"strategy": "redis", "code": "503"}); n != 1 {
		t.Errorf("gateway_requests_total{redis,503} = %v", n)
	}
}

func TestEveryInstanceDeadIs503(t *testing.T) {
	g := newTestGateway(t, map[string][]string{redisSvc: {deadAddr(t), deadAddr(t)}})
	res, body := g.get(t, "/tracking/redis/team_one/positions")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %q, want 503 with Retry-After", res.StatusCode, body)
	}
	decodeError(t, res, body)
	if n := g.counter(t, "gateway_upstream_errors_total", prometheus.Labels{"kind": "connect"}); n != 2 {
		t.Errorf("connect errors %v, want 2", n)
	}
}

func TestUpstreamHTTPErrorsPassThrough(t *testing.T) {
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":"invalid_field","message":"x"}`))
	})
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})
	res, body := g.get(t, "/tracking/redis/team_one/positions")
	if res.StatusCode != http.StatusBadRequest || body != `{"code":"invalid_field","message":"x"}` {
		t.Fatalf("%d %q", res.StatusCode, body)
	}
	if up.count() != 1 {
		t.Fatalf("a 4xx was retried: %d hits", up.count())
	}
}
