package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
)

func TestRequestIDIsPassedUpstreamOrGenerated(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})

	req, _ := http.NewRequest("GET", g.url("/tracking/redis/team_one/positions"), nil)
	req.Header.Set("X-Request-ID", "client-id-1")
	res, _ := g.send(t, req)
	if got := up.last().Header.Get("X-Request-ID"); got != "client-id-1" {
		t.Errorf("upstream got X-Request-ID %q, want the client's", got)
	}
	if got := res.Header.Get("X-Request-ID"); got != "client-id-1" {
		t.Errorf("response X-Request-ID %q", got)
	}

	req.Header.Set("X-Request-ID", "bad id\u00e9")
	res, _ = g.send(t, req)
	gen := res.Header.Get("X-Request-ID")
	if len(gen) != 32 || up.last().Header.Get("X-Request-ID") != gen {
		t.Errorf("generated id %q, upstream got %q", gen, up.last().Header.Get("X-Request-ID"))
	}
	// The access line is written once the exchange is over, maybe just after
	// the client has the response.
	testsupport.Eventually(t, 5*time.Second, "the access log line with the request id", func() bool { return strings.Contains(g.logs.String(), "request_id="+gen) })
}

func TestAccessLogRedactsTokens(t *testing.T) {
	up := newUpstream(t, "a", nil)
	dead := testsupport.FreeAddr(t)
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}, kafkaSvc: {dead}})
	g.get(t, "/tracking/redis/team_one/positions?token=SECRET1&x=1")
	g.get(t, "/tracking/kafka/team_one/positions?access_token=SECRET2") // logs a proxy error too
	g.get(t, "/tracking/foo/x?token=SECRET3")
	g.get(t, "/?access_token=SECRET4")
	testsupport.Eventually(t, 5*time.Second, "four access log lines", func() bool { return strings.Count(g.logs.String(), "msg=request ") == 4 })
	logs := g.logs.String()
	if strings.Contains(logs, "SECRET") {
		t.Fatalf("a token reached the logs:\n%s", logs)
	}
	if !strings.Contains(logs, "token=REDACTED&x=1") || !strings.Contains(logs, "no instance accepted") {
		t.Fatalf("expected lines missing:\n%s", logs)
	}
	if got := up.last().URL.Query().Get("token"); got != "SECRET1" {
		t.Fatalf("upstream got token %q: redaction is for logs only", got)
	}
}

func TestCORS(t *testing.T) {
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://upstream.example")
		_, _ = w.Write([]byte("[]"))
	})
	g := newTestGateway(t, map[string][]string{redisSvc: {up.addr()}})

	preflight(t, g, "/tracking/redis/")
	if up.count() != 0 {
		t.Fatal("a preflight reached the upstream")
	}

	req, _ := http.NewRequest("GET", g.url("/tracking/redis/team_one/positions"), nil)
	req.Header.Set("Origin", "https://map.example")
	res, _ := g.send(t, req)
	if v := res.Header.Values("Access-Control-Allow-Origin"); len(v) != 1 || v[0] != "*" {
		t.Fatalf("Access-Control-Allow-Origin %v, want only the gateway's *", v)
	}
}

func TestCORSAllowList(t *testing.T) {
	g := newTestGatewayWith(t, Config{Resolver: mustStatic(t, nil), AllowedOrigins: []string{"https://ok.example"}})
	for origin, want := range map[string]string{"https://ok.example": "https://ok.example", "https://evil.example": ""} {
		req, _ := http.NewRequest("GET", g.url("/healthz"), nil)
		req.Header.Set("Origin", origin)
		res, _ := g.send(t, req)
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("origin %s: allow %q, want %q", origin, got, want)
		}
	}
}

// preflight sends a browser's CORS preflight of a POST to path and checks
// that the gateway allows it.
func preflight(t *testing.T, g *testGateway, path string) {
	t.Helper()
	pre, _ := http.NewRequest("OPTIONS", g.url(path), nil)
	pre.Header.Set("Origin", "https://map.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type")
	res, _ := g.send(t, pre)
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Fatalf("preflight of %s: %d %v", path, res.StatusCode, res.Header)
	}
}
