package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/auth"
)

const (
	redisSvc = "tracking-redis-service"
	kafkaSvc = "tracking-kafka-service"
)

// testGateway is a Gateway behind an httptest server, with a client of its own.
type testGateway struct {
	*Gateway
	srv    *httptest.Server
	client *http.Client
	reg    *prometheus.Registry
	logs   *testsupport.SyncBuffer
}

// newTestGateway starts a gateway over a static resolver (service -> addresses).
func newTestGateway(t *testing.T, instances map[string][]string) *testGateway {
	t.Helper()
	return newTestGatewayWith(t, Config{Resolver: mustStatic(t, instances)})
}

// A cfg without AuthMode gets auth.ModeNone: the tests of routing and
// streaming run without tokens; auth_test.go sets the other modes.
func newTestGatewayWith(t *testing.T, cfg Config) *testGateway {
	t.Helper()
	if cfg.AuthMode == "" {
		cfg.AuthMode = auth.ModeNone
	}
	logs := &testsupport.SyncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})) // New adds redaction
	cfg.Registry = NewRegistry()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	tr := &http.Transport{DisableCompression: true}
	tg := &testGateway{Gateway: g, srv: srv, client: &http.Client{Transport: tr}, reg: cfg.Registry, logs: logs}
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		tr.CloseIdleConnections()
		g.Close()
		_ = cfg.Resolver.Close()
		if t.Failed() {
			t.Logf("gateway logs:\n%s", logs.String())
		}
	})
	return tg
}

func (g *testGateway) url(path string) string { return g.srv.URL + path }

func (g *testGateway) ws(path string) string { return "ws" + strings.TrimPrefix(g.url(path), "http") }

func (g *testGateway) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	res, err := g.client.Get(g.url(path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return res, readAll(t, res)
}

// send sends req with g's client and returns the answer and its body.
func (g *testGateway) send(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	return res, readAll(t, res)
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// counter returns the sum of the series of a counter or gauge of the
// gateway's registry that carry labels.
func (g *testGateway) counter(t *testing.T, name string, labels prometheus.Labels) float64 {
	t.Helper()
	mfs, err := g.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// upstream is a tracking instance stand-in that records what it received.
type upstream struct {
	*httptest.Server
	name string
	mu   sync.Mutex
	hits []*http.Request
}

func newUpstream(t *testing.T, name string, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{name: name}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.hits = append(u.hits, r.Clone(r.Context()))
		u.mu.Unlock()
		w.Header().Set("X-Upstream", name)
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, r.Method+" "+r.URL.RequestURI())
	}))
	t.Cleanup(func() {
		u.CloseClientConnections()
		u.Close()
	})
	return u
}

func (u *upstream) addr() string { return u.Listener.Addr().String() }

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.hits)
}

func (u *upstream) last() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.hits) == 0 {
		return nil
	}
	return u.hits[len(u.hits)-1]
}
