package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/teamtrack/tracking-core/apispec"
	"github.com/teamtrack/tracking-core/auth"
)

func loadDocs(t *testing.T) *apispec.Docs {
	t.Helper()
	docs, err := apispec.Load(apispec.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if err := docs.Check(); err != nil {
		t.Fatal(err)
	}
	return docs
}

// proxyRule is openapi.yaml's x-gateway-proxy.
type proxyRule struct {
	Prefix     string
	Strategies []string
	RootRoutes []string
}

func readProxyRule(t *testing.T, docs *apispec.Docs) proxyRule {
	t.Helper()
	var p proxyRule
	if err := json.Unmarshal(apispec.JSON(docs.OpenAPI["x-gateway-proxy"]), &p); err != nil || p.Prefix == "" {
		t.Fatalf("openapi.yaml: x-gateway-proxy: %v", err)
	}
	return p
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// Every route of the gateway (in mode dev, which has them all) is in
// openapi.yaml: its own at their paths, the proxy as x-gateway-proxy; and
// every operation openapi.yaml gives the gateway is served.
func TestOpenAPIListsGatewayRoutes(t *testing.T) {
	docs := loadDocs(t)
	rule := readProxyRule(t, docs)
	g := newAuthGateway(t, auth.ModeDev, map[string][]string{redisSvc: {"127.0.0.1:1"}, kafkaSvc: {"127.0.0.1:1"}})
	var own []string
	for _, op := range docs.Operations() {
		if op.ServedByGateway() && op.Node["x-router"] != "fallback" {
			own = append(own, op.Key())
		}
	}
	var served []string
	for _, r := range g.Routes() {
		method, path, _ := strings.Cut(r, " ")
		path = ginParam.ReplaceAllString(path, "{$1}")
		if path == rule.Prefix || path == rule.Prefix+"/{rest}" {
			continue // the proxy: every method, every path below
		}
		served = append(served, method+" "+path)
		if !slices.Contains(own, method+" "+path) {
			t.Errorf("the gateway serves %s: not in docs/openapi.yaml with x-served-by gateway", method+" "+path)
		}
	}
	for _, k := range own {
		if !slices.Contains(served, k) {
			t.Errorf("docs/openapi.yaml gives the gateway %s: it does not serve it", k)
		}
	}
	if !slices.Contains(g.Routes(), "GET /tracking/:strategy/*rest") {
		t.Errorf("no proxy route among %v", g.Routes())
	}
	// The view: every path that is no route.
	if r, body := g.get(t, "/"); r.StatusCode != http.StatusOK || body != "view /" {
		t.Errorf("GET /: %d %q, want the view", r.StatusCode, body)
	}
}

// Every operation openapi.yaml gives the services is reached through the
// gateway under x-gateway-proxy's prefix, for each strategy, and arrives at
// the service's path; the request examples of the gateway's own operations
// are accepted, answered as the spec says.
func TestOpenAPIThroughTheGateway(t *testing.T) {
	docs := loadDocs(t)
	rule := readProxyRule(t, docs)
	up := newUpstream(t, "a", nil)
	g := newAuthGateway(t, auth.ModeDev, map[string][]string{redisSvc: {up.addr()}, kafkaSvc: {up.addr()}})
	admin := mint(t, auth.Claims{Subject: "root", Role: auth.RoleAdmin})
	n := 0
	for _, op := range docs.Operations() {
		if !op.ServedByService() || op.ServedByGateway() {
			continue
		}
		path := op.Path
		for _, name := range apispec.PathParams(op.Path) {
			val := docs.PathExample(op, name)
			if val == "" {
				val = "x1"
			}
			path = strings.Replace(path, "{"+name+"}", val, 1)
		}
		var rest string
		switch {
		case strings.HasPrefix(path, "/tracking"):
			rest = strings.TrimPrefix(path, "/tracking")
		case slices.Contains(rule.RootRoutes, "/"+strings.Split(path, "/")[1]):
			rest = path
		default:
			t.Errorf("%s: not reachable through the gateway by x-gateway-proxy", op.Key())
			continue
		}
		for _, strategy := range rule.Strategies {
			p := strings.Replace(rule.Prefix, "{strategy}", strategy, 1) + rest
			req, _ := http.NewRequest(op.Method, g.url(p), nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			before := up.count()
			res, body := g.send(t, req)
			if res.StatusCode != http.StatusOK || up.count() != before+1 {
				t.Errorf("%s as %s %s: %d %q, not proxied", op.Key(), op.Method, p, res.StatusCode, body)
				continue
			}
			if got := up.last(); got.Method != op.Method || got.URL.Path != path {
				t.Errorf("%s as %s %s reached the service as %s %s, want %s", op.Key(), op.Method, p, got.Method, got.URL.Path, path)
			}
			n++
		}
	}
	if n < 80 {
		t.Errorf("only %d operations proxied", n)
	}

	examples, err := docs.RequestExamples()
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range examples {
		if !ex.Op.ServedByGateway() {
			continue
		}
		if err := docs.ValidateValue(ex.Schema, ex.Value); err != nil {
			t.Errorf("%s example %s: %v", ex.Op.Key(), ex.Name, err)
		}
		req, _ := http.NewRequest(ex.Op.Method, g.url(ex.Op.Path), strings.NewReader(string(apispec.JSON(ex.Value))))
		req.Header.Set("Content-Type", ex.ContentType)
		res, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s example %s: %d %s", ex.Op.Key(), ex.Name, res.StatusCode, b)
			continue
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("%s example %s: %v", ex.Op.Key(), ex.Name, err)
			continue
		}
		ref := apispec.OpenAPIFile + "#/paths/" + apispec.Escape(ex.Op.Path) + "/" + strings.ToLower(ex.Op.Method) +
			"/responses/200/content/application~1json/schema"
		if err := docs.ValidateValue(ref, v); err != nil {
			t.Errorf("%s example %s: answer %s: %v", ex.Op.Key(), ex.Name, b, err)
		}
	}
	// The gateway's own GETs answer as the spec says.
	for _, path := range []string{"/healthz", "/auth/config"} {
		res, body := g.get(t, path)
		var v any
		if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil {
			t.Errorf("GET %s: %d %q", path, res.StatusCode, body)
			continue
		}
		ref := apispec.OpenAPIFile + "#/paths/" + apispec.Escape(path) + "/get/responses/200/content/application~1json/schema"
		if err := docs.ValidateValue(ref, v); err != nil {
			t.Errorf("GET %s: %s: %v", path, body, err)
		}
	}
}
