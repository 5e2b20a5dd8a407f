package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/discovery"
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

// wantError checks that res is the gateway's JSON error of status and code
// with a message that holds msg, and reports whether it is.
func wantError(t *testing.T, what string, res *http.Response, body string, status int, code, msg string) bool {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("%s: %d %q, want %d", what, res.StatusCode, body, status)
		return false
	}
	if e := decodeError(t, res, body); string(e.Code) != code || e.Message == "" || !strings.Contains(e.Message, msg) {
		t.Errorf("%s: %+v, want %s with a message holding %q", what, e, code, msg)
		return false
	}
	return true
}

func TestUnknownStrategyIs404JSON(t *testing.T) {
	g := newTestGateway(t, map[string][]string{redisSvc: {testsupport.FreeAddr(t)}})
	for _, p := range []string{"/tracking/foo/team_one", "/tracking/foo", "/tracking/foo/", "/tracking", "/tracking/"} {
		res, body := g.get(t, p)
		wantError(t, p, res, body, http.StatusNotFound, "not_found", "")
	}
}

func TestNoHealthyInstanceIs503JSONWithRetryAfter(t *testing.T) {
	g := newTestGateway(t, map[string][]string{redisSvc: nil})
	for _, p := range []string{"/tracking/redis/team_one", "/tracking/kafka/ws"} {
		res, body := g.get(t, p)
		if wantError(t, p, res, body, http.StatusServiceUnavailable, "unavailable", "") && res.Header.Get("Retry-After") != "2" {
			t.Errorf("%s: Retry-After %q", p, res.Header.Get("Retry-After"))
		}
	}
	if n := g.counter(t, "gateway_requests_total", prometheus.Labels{"strategy": "redis", "code": "503"}); n != 1 {
		t.Errorf("gateway_requests_total{redis,503} = %v", n)
	}
}

func TestEveryInstanceDeadIs503(t *testing.T) {
	g := newTestGateway(t, map[string][]string{redisSvc: {testsupport.FreeAddr(t), testsupport.FreeAddr(t)}})
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

// rawGet sends one request line as is (no client cleans its path) and
// returns the answer and its body.
func rawGet(t *testing.T, g *testGateway, method, path string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", g.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res, readAll(t, res)
}

// plainView stands in for the embedded view: a file server with one file
// that takes GET and HEAD only, and answers its errors in plain text as
// net/http does.
func plainView() http.Handler {
	files := http.FileServerFS(fstest.MapFS{"index.html": {Data: []byte("<html>map</html>")}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// TestTraversalIs404JSON: a path with dot or empty segments is never
// proxied (the upstream's router would clean it into another route or
// redirect the client out of /tracking), and every answer is the JSON 404.
func TestTraversalIs404JSON(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newTestGatewayWith(t, Config{Resolver: staticOf(t, up.addr()), View: plainView()})
	for _, p := range []string{
		"/tracking/redis/../../etc/passwd",
		"/tracking/redis/%2e%2e/%2e%2e/etc/passwd",
		"/tracking/redis/./team_one",
		"/tracking/redis//ws",
		"/tracking/kafka/team/../ws",
		"/../../etc/passwd",
		"/assets/../../etc/passwd",
	} {
		res, body := rawGet(t, g, "GET", p)
		wantError(t, p, res, body, http.StatusNotFound, "not_found", "")
	}
	if n := up.count(); n != 0 {
		t.Errorf("the upstream got %d of them", n)
	}
	// Canonical paths still pass, with or without a trailing slash.
	for _, p := range []string{"/tracking/redis/", "/tracking/redis/team_one/positions"} {
		if res, body := rawGet(t, g, "GET", p); res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %q", p, res.StatusCode, body)
		}
	}
}

// TestMethodNotAllowedIs405JSON covers the gateway's own routes (gin) and
// the view's.
func TestMethodNotAllowedIs405JSON(t *testing.T) {
	g := newTestGatewayWith(t, Config{Resolver: staticOf(t, testsupport.FreeAddr(t)), View: plainView()})
	for _, tc := range []struct{ method, path, allow string }{
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/metrics", "GET"},
		{"PUT", "/readyz", "GET, HEAD"},
		{"POST", "/", "GET, HEAD"},
	} {
		res, body := rawGet(t, g, tc.method, tc.path)
		if !wantError(t, tc.method+" "+tc.path, res, body, http.StatusMethodNotAllowed, "bad_request", "") {
			continue
		}
		if got := res.Header.Get("Allow"); !sameMethods(got, tc.allow) {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	// The view's own pages are untouched.
	if res, body := rawGet(t, g, "GET", "/"); res.StatusCode != 200 || body != "<html>map</html>" {
		t.Errorf("GET /: %d %q", res.StatusCode, body)
	}
	if res, body := rawGet(t, g, "GET", "/nothing-here"); res.StatusCode != 404 || decodeError(t, res, body).Code != "not_found" {
		t.Errorf("GET /nothing-here: %d %q", res.StatusCode, body)
	}
}

// sameMethods reports whether two Allow headers list the same methods.
func sameMethods(a, b string) bool {
	split := func(s string) []string { return slices.Sorted(strings.SplitSeq(strings.ReplaceAll(s, " ", ""), ",")) }
	return slices.Equal(split(a), split(b))
}

// TestPanicIs500InternalError: a panic is logged with its details and the
// client gets "internal error" with the request id to find them.
func TestPanicIs500InternalError(t *testing.T) {
	view := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom at 10.1.2.3:5432")
	})
	g := newTestGatewayWith(t, Config{Resolver: staticOf(t, testsupport.FreeAddr(t)), View: view})
	res, body := g.get(t, "/somewhere")
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("%d %q, want 500", res.StatusCode, body)
	}
	e := decodeError(t, res, body)
	if e.Code != "internal" || e.Message != "internal error" {
		t.Errorf("%+v, want internal error", e)
	}
	if strings.Contains(body, "boom") || strings.Contains(body, "10.1.2.3") {
		t.Errorf("the panic's details reached the client: %s", body)
	}
	if logs := g.logs.String(); !strings.Contains(logs, "boom at 10.1.2.3") || !strings.Contains(logs, e.RequestID) {
		t.Errorf("the log lacks the panic or the request id %s:\n%s", e.RequestID, logs)
	}
}

// TestUpstreamPlainErrorsBecomeJSON: an upstream error in another shape than
// JSON (net/http's plain-text 404 and 405, a crash page) reaches the client
// as the gateway's JSON error of the same status; a 5xx says only "internal
// error".
func TestUpstreamPlainErrorsBecomeJSON(t *testing.T) {
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/tracking/team/positions":
			w.Header().Set("Allow", "GET")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		case "/tracking/nope/x":
			http.NotFound(w, r)
		default:
			http.Error(w, "panic: runtime error at /src/secret.go:12", http.StatusInternalServerError)
		}
	})
	g := newTestGatewayWith(t, Config{Resolver: staticOf(t, up.addr())})
	for _, tc := range []struct {
		method, path string
		status       int
		code, msg    string
	}{
		{"PUT", "/tracking/redis/team/positions", 405, "bad_request", "method not allowed"},
		{"GET", "/tracking/redis/nope/x", 404, "not_found", "not found"},
		{"GET", "/tracking/redis/boom/positions", 500, "internal", "internal error"},
	} {
		res, body := rawGet(t, g, tc.method, tc.path)
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, res.StatusCode, body)
			continue
		}
		if e := decodeError(t, res, body); string(e.Code) != tc.code || e.Message != tc.msg {
			t.Errorf("%s %s: %+v, want %s %q", tc.method, tc.path, e, tc.code, tc.msg)
		}
	}
}

// TestUpstreamFailureIs502WithoutDetails: an upstream that drops the
// connection without answering is a 502 whose message names no address or
// syscall; the log has them.
func TestUpstreamFailureIs502WithoutDetails(t *testing.T) {
	up := newUpstream(t, "a", func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	})
	g := newTestGatewayWith(t, Config{Resolver: staticOf(t, up.addr())})
	res, body := g.get(t, "/tracking/redis/team_one/positions")
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("%d %q, want 502", res.StatusCode, body)
	}
	e := decodeError(t, res, body)
	if e.Code != "unavailable" || e.Message != "the upstream failed to answer" {
		t.Errorf("%+v", e)
	}
	if strings.Contains(body, up.addr()) || strings.Contains(body, "EOF") {
		t.Errorf("details reached the client: %s", body)
	}
	if !strings.Contains(g.logs.String(), "upstream failed") {
		t.Errorf("no log of the failure:\n%s", g.logs.String())
	}
}

func staticOf(t *testing.T, addr string) discovery.Resolver {
	return mustStatic(t, map[string][]string{redisSvc: {addr}, kafkaSvc: {addr}})
}
