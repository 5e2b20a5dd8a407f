package gateway

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamtrack/tracking-core/auth"
)

var testSecret = []byte("api-gateway-test-secret-0123456789abcdef")

// newAuthGateway starts a gateway in mode with the HS256 test secret (modes
// jwt and dev), a dev-login issuer (mode dev) and a view, so that a 404 JSON
// under /auth is told apart from the view.
func newAuthGateway(t *testing.T, mode auth.Mode, instances map[string][]string) *testGateway {
	t.Helper()
	cfg := Config{
		Resolver: mustStatic(t, instances),
		AuthMode: mode,
		View: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "view "+r.URL.Path)
		}),
	}
	if mode != auth.ModeNone {
		v, err := auth.NewVerifier(t.Context(), mode, testSecret, "", auth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = v.Close() })
		cfg.Verifier = v
	}
	if mode == auth.ModeDev {
		cfg.DevIssuer = testIssuer(t)
	}
	return newTestGatewayWith(t, cfg)
}

func testIssuer(t testing.TB) *auth.Issuer { return issuerOf(t, testSecret) }

func issuerOf(t testing.TB, secret []byte) *auth.Issuer {
	t.Helper()
	iss, err := auth.NewIssuer(secret, 0)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// mint signs c with the test secret.
func mint(t testing.TB, c auth.Claims) string { return mintWith(t, testSecret, c) }

// mintWith signs c with secret.
func mintWith(t testing.TB, secret []byte, c auth.Claims) string {
	t.Helper()
	tok, err := issuerOf(t, secret).Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func workerToken(t testing.TB, worker, team string) string {
	return mint(t, auth.Claims{Subject: worker, Role: auth.RoleWorker, Teams: []string{team}})
}

func managerToken(t testing.TB, teams ...string) string {
	return mint(t, auth.Claims{Subject: "m-1", Role: auth.RoleManager, Teams: teams})
}

// do sends method path with body, and the token as a Bearer header unless
// it is empty.
func (g *testGateway) do(t *testing.T, method, path, token, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, g.url(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return g.send(t, req)
}

// gatewayRoutes are a request of each kind of route under /tracking/redis.
var gatewayRoutes = []struct{ method, path string }{
	{"POST", "/tracking/redis/"},
	{"POST", "/tracking/redis"},
	{"GET", "/tracking/redis/ws"},
	{"GET", "/tracking/redis/team_one"},
	{"GET", "/tracking/redis/team_one/ws"},
	{"GET", "/tracking/redis/team_one/positions"},
	{"GET", "/tracking/redis/team_one/other"},
	{"GET", "/tracking/redis/devices"},
}

// Phones authenticate to the service with their device's secret (basic
// auth, key=), not a token: the gateway lets them through in jwt mode, to
// the service's root path.
func TestPhoneRoutesNeedNoToken(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newAuthGateway(t, auth.ModeJWT, map[string][]string{redisSvc: {up.addr()}})
	for _, r := range []struct{ method, path string }{
		{"GET", "/tracking/redis/osmand?id=1&lat=1&lon=2&key=s"},
		{"POST", "/tracking/redis/owntracks"},
	} {
		req, _ := http.NewRequest(r.method, g.url(r.path), nil)
		req.SetBasicAuth("kim", "secret")
		res, body := g.send(t, req)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s %s: %d %s, want the upstream's 200", r.method, r.path, res.StatusCode, body)
		}
	}
	if up.count() != 2 {
		t.Fatalf("%d phone requests reached the upstream, want 2", up.count())
	}
}

func TestNewChecksAuthConfig(t *testing.T) {
	v, err := auth.NewVerifier(t.Context(), auth.ModeJWT, testSecret, "", auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]Config{
		"no mode":            {},
		"unknown mode":       {AuthMode: "open"},
		"jwt, no verifier":   {AuthMode: auth.ModeJWT},
		"dev, no verifier":   {AuthMode: auth.ModeDev, DevIssuer: testIssuer(t)},
		"dev, no dev issuer": {AuthMode: auth.ModeDev, Verifier: v},
	} {
		cfg.Resolver = mustStatic(t, nil)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestNoTokenIs401JSON(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newAuthGateway(t, auth.ModeJWT, map[string][]string{redisSvc: {up.addr()}})
	for _, r := range gatewayRoutes {
		res, body := g.do(t, r.method, r.path, "", "")
		wantError(t, r.method+" "+r.path, res, body, http.StatusUnauthorized, "unauthorized", "missing token")
		if got := res.Header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("%s %s: WWW-Authenticate %q", r.method, r.path, got)
		}
	}
	if up.count() != 0 {
		t.Fatalf("%d unauthenticated requests reached the upstream", up.count())
	}
	n := float64(len(gatewayRoutes))
	if got := g.counter(t, "gateway_auth_failures_total", prometheus.Labels{"code": "unauthorized"}); got != n {
		t.Errorf("gateway_auth_failures_total{unauthorized} = %v, want %v", got, n)
	}
	if got := g.counter(t, "gateway_auth_failures_total", prometheus.Labels{"code": "unauthorized", "route": "team_sse"}); got != 1 {
		t.Errorf("gateway_auth_failures_total{team_sse,unauthorized} = %v, want 1", got)
	}
	if got := g.counter(t, "gateway_requests_total", prometheus.Labels{"code": "401", "upstream": noUpstream}); got != n {
		t.Errorf("gateway_requests_total{401} = %v, want %v", got, n)
	}

	// A malformed header is a bad request in the challenge's terms.
	req, _ := http.NewRequest("GET", g.url("/tracking/redis/ws"), nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	res, body := g.send(t, req)
	if e := decodeError(t, res, body); res.StatusCode != 401 || e.Code != "unauthorized" ||
		res.Header.Get("WWW-Authenticate") != `Bearer error="invalid_request"` {
		t.Errorf("Basic credentials: %d %v %+v", res.StatusCode, res.Header.Get("WWW-Authenticate"), e)
	}
}

func TestManagerOfAnotherTeamIs403(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newAuthGateway(t, auth.ModeJWT, map[string][]string{redisSvc: {up.addr()}})
	other := managerToken(t, "team_two", "team_three")
	worker := workerToken(t, "w-1", "team_one")
	for _, p := range []string{"/tracking/redis/team_one", "/tracking/redis/team_one/ws", "/tracking/redis/team_one/positions"} {
		for who, tok := range map[string]string{"manager of team_two": other, "worker of team_one": worker} {
			res, body := g.do(t, "GET", p, tok, "")
			wantError(t, who+", "+p, res, body, http.StatusForbidden, "forbidden", "team_one")
		}
	}
	if up.count() != 0 {
		t.Fatalf("%d forbidden requests reached the upstream", up.count())
	}
	if got := g.counter(t, "gateway_auth_failures_total", prometheus.Labels{"code": "forbidden"}); got != 6 {
		t.Errorf("gateway_auth_failures_total{forbidden} = %v, want 6", got)
	}

	// Its own team, and an admin any team.
	admin := mint(t, auth.Claims{Subject: "root", Role: auth.RoleAdmin})
	for _, tok := range []string{other, admin} {
		res, body := g.do(t, "GET", "/tracking/redis/team_two/positions", tok, "")
		if res.StatusCode != 200 || body != "GET /tracking/team_two/positions" {
			t.Fatalf("allowed manager: %d %q", res.StatusCode, body)
		}
	}
}

func TestWorkerTokenIsProxiedWithAuthorizationIntact(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newAuthGateway(t, auth.ModeJWT, map[string][]string{redisSvc: {up.addr()}})
	tok := workerToken(t, "w-1", "team_one")

	res, body := g.do(t, "POST", "/tracking/redis/", tok, `{"workerId":"w-1","team":"team_one"}`+"\n")
	if res.StatusCode != 200 || body != "POST /tracking/" {
		t.Fatalf("POST: %d %q", res.StatusCode, body)
	}
	if got := up.last().Header.Get("Authorization"); got != "Bearer "+tok {
		t.Fatalf("upstream Authorization %q, want the client's", got)
	}

	// The query form, as a browser WebSocket sends it: passed on as it came.
	q := "access_token=" + tok + "&x=1"
	res, body = g.do(t, "GET", "/tracking/redis/ws?"+q, "", "")
	if res.StatusCode != 200 || body != "GET /tracking/ws?"+q {
		t.Fatalf("GET ws: %d %q", res.StatusCode, body)
	}

	// A manager's token is valid too: whether it may publish is for the
	// replica to say, record by record.
	res, body = g.do(t, "POST", "/tracking/redis", managerToken(t, "team_one"), "")
	if res.StatusCode != 200 {
		t.Fatalf("POST with a manager token: %d %q", res.StatusCode, body)
	}
	if got := g.counter(t, "gateway_auth_failures_total", nil); got != 0 {
		t.Errorf("auth failures %v, want 0", got)
	}
}

func TestInvalidTokensAre401(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newAuthGateway(t, auth.ModeJWT, map[string][]string{redisSvc: {up.addr()}})

	b64 := base64.RawURLEncoding.EncodeToString
	payload := fmt.Sprintf(`{"sub":"root","role":"admin","exp":%d}`, time.Now().Add(time.Hour).Unix())
	otherSecret := mintWith(t, []byte("another-secret-another-secret-0123456789"), auth.Claims{Subject: "root", Role: auth.RoleAdmin})
	for _, c := range []struct{ name, token, want string }{
		{"expired", mint(t, auth.Claims{Subject: "m-1", Role: auth.RoleManager, Teams: []string{"team_one"},
			Expires: time.Now().Add(-time.Hour)}), "expired"},
		{"alg none", b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(payload)) + ".", "alg none"},
		{"alg none, signed", b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(payload)) + "." + b64([]byte("sig")), "alg none"},
		{"other secret", otherSecret, "signature"},
		{"garbage", "not.a.jwt", ""},
	} {
		for _, viaQuery := range []bool{false, true} {
			path, header := "/tracking/redis/team_one/positions", c.token
			if viaQuery {
				path, header = path+"?access_token="+url.QueryEscape(c.token), ""
			}
			res, body := g.do(t, "GET", path, header, "")
			wantError(t, fmt.Sprintf("%s (query %v)", c.name, viaQuery), res, body, http.StatusUnauthorized, "unauthorized", c.want)
			if got := res.Header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Errorf("%s: WWW-Authenticate %q", c.name, got)
			}
			t.Logf("%s: %s", c.name, body)
		}
	}
	if up.count() != 0 {
		t.Fatalf("%d requests with invalid tokens reached the upstream", up.count())
	}
}

func TestModeNoneProxiesWithoutToken(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newAuthGateway(t, auth.ModeNone, map[string][]string{redisSvc: {up.addr()}})
	for _, r := range gatewayRoutes {
		res, body := g.do(t, r.method, r.path, "", "")
		if res.StatusCode != 200 || res.Header.Get("X-Upstream") != "a" {
			t.Fatalf("%s %s: %d %q, want it proxied", r.method, r.path, res.StatusCode, body)
		}
	}
	// Not even read: a header that mode jwt would refuse as malformed goes
	// through untouched, as legacy clients send it.
	req, _ := http.NewRequest("GET", g.url("/tracking/redis/team_one/positions?access_token="), nil)
	req.Header.Add("Authorization", "Legacy x")
	req.Header.Add("Authorization", "Legacy y")
	res, _ := g.send(t, req)
	if res.StatusCode != 200 || len(up.last().Header.Values("Authorization")) != 2 {
		t.Fatalf("%d; upstream Authorization %q", res.StatusCode, up.last().Header.Values("Authorization"))
	}
	if got := g.counter(t, "gateway_auth_failures_total", nil); got != 0 {
		t.Errorf("auth failures %v in mode none", got)
	}
}

func devLogin(t *testing.T, g *testGateway, body string) (*http.Response, string) {
	t.Helper()
	res, err := g.client.Post(g.url("/auth/dev-login"), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return res, readAll(t, res)
}

// login asks dev-login for a token with body, checks the answer and
// returns the token.
func login(t *testing.T, g *testGateway, body string) string {
	t.Helper()
	res, raw := devLogin(t, g, body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
		res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("dev-login %s: %d %v %q", body, res.StatusCode, res.Header, raw)
	}
	var a struct{ Token, ExpiresAt string }
	if err := json.Unmarshal([]byte(raw), &a); err != nil || a.Token == "" {
		t.Fatalf("dev-login answer %q: %v", raw, err)
	}
	exp, err := time.Parse(time.RFC3339, a.ExpiresAt)
	if err != nil {
		t.Fatalf("expiresAt %q: %v", a.ExpiresAt, err)
	}
	if d := time.Until(exp); d < auth.DefaultTokenTTL-time.Minute || d > auth.DefaultTokenTTL+time.Second {
		t.Errorf("expiresAt %s is %v away, want about %v", a.ExpiresAt, d, auth.DefaultTokenTTL)
	}
	return a.Token
}

func TestDevLoginIssuesTokensTheGatewayAccepts(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newAuthGateway(t, auth.ModeDev, map[string][]string{redisSvc: {up.addr()}})

	manager := login(t, g, `{"subject":"m-1","role":"manager","teams":["team_one"]}`)
	if res, body := g.do(t, "GET", "/tracking/redis/team_one/positions", manager, ""); res.StatusCode != 200 {
		t.Fatalf("the manager's own team: %d %q", res.StatusCode, body)
	}
	if res, body := g.do(t, "GET", "/tracking/redis/team_two?access_token="+manager, "", ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("another team: %d %q, want 403", res.StatusCode, body)
	}

	worker := login(t, g, `{"subject":"w-1","role":"worker","teams":["team_one"]}`)
	if res, body := g.do(t, "POST", "/tracking/redis/", worker, "{}\n"); res.StatusCode != 200 {
		t.Fatalf("worker publish: %d %q", res.StatusCode, body)
	}
	if got := up.last().Header.Get("Authorization"); got != "Bearer "+worker {
		t.Fatalf("upstream Authorization %q", got)
	}

	admin := login(t, g, `{"subject":"ops","role":"admin"}`)
	if res, body := g.do(t, "GET", "/tracking/redis/team_nine/ws", admin, ""); res.StatusCode != 200 {
		t.Fatalf("admin: %d %q", res.StatusCode, body)
	}

	// Mode dev checks /tracking as mode jwt does.
	if res, body := g.do(t, "GET", "/tracking/redis/team_one", "", ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token in mode dev: %d %q", res.StatusCode, body)
	}
}

func TestDevLoginBadBodyIs400NamingTheField(t *testing.T) {
	g := newAuthGateway(t, auth.ModeDev, nil)
	for _, c := range []struct {
		body, code, want string
		status           int
	}{
		{``, "invalid_json", "body: empty", 400},
		{`{"subject":`, "invalid_json", "body: truncated", 400},
		{`{"subject" "w-1"}`, "invalid_json", "body: malformed JSON", 400},
		{`[]`, "invalid_json", "body: got a JSON array", 400},
		{`{"role":"worker","teams":["team_one"]}`, "bad_request", "subject: is missing", 400},
		{`{"subject":"w-1","teams":["team_one"]}`, "bad_request", "role: is missing", 400},
		{`{"subject":"w-1","role":"boss","teams":["team_one"]}`, "bad_request", "role: ", 400},
		{`{"subject":"w-1","role":"worker"}`, "bad_request", "teams: is missing", 400},
		{`{"subject":"w-1","role":"worker","teams":["ok","bad team"]}`, "bad_request", "teams[1]: ", 400},
		{`{"subject":"w 1","role":"worker","teams":["team_one"]}`, "bad_request", "subject: ", 400},
		{`{"subject":"w-1","role":"worker","teams":"team_one"}`, "bad_request", "teams: want an array", 400},
		{`{"subject":"w-1","role":"worker","teams":[1]}`, "bad_request", "teams: want team names", 400},
		{`{"subject":7,"role":"worker","teams":["team_one"]}`, "bad_request", "subject: want a string", 400},
		{`{"subject":"w-1","role":"worker","team":["team_one"]}`, "bad_request", "team: unknown field", 400},
		{`{"subject":"w-1","role":"worker","teams":["team_one"]} {}`, "invalid_json", "body: want one JSON object", 400},
		{`{"subject":"` + strings.Repeat("x", maxDevLoginBody) + `"}`, "too_large", "body: larger than", 413},
	} {
		res, body := devLogin(t, g, c.body)
		if res.StatusCode != c.status {
			t.Errorf("%.60s: %d %q, want %d", c.body, res.StatusCode, body, c.status)
			continue
		}
		if e := decodeError(t, res, body); string(e.Code) != c.code || !strings.HasPrefix(e.Message, c.want) {
			t.Errorf("%.60s: %+v, want %s %q...", c.body, e, c.code, c.want)
		}
	}

	res, body := g.get(t, "/auth/dev-login")
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
		t.Errorf("GET /auth/dev-login: %d %v %q", res.StatusCode, res.Header, body)
	}
}

func TestDevLoginIsAbsentOutsideModeDev(t *testing.T) {
	for _, mode := range []auth.Mode{auth.ModeJWT, auth.ModeNone} {
		g := newAuthGateway(t, mode, nil)
		for _, method := range []string{"POST", "GET"} {
			res, body := g.do(t, method, "/auth/dev-login", "", `{"subject":"w-1","role":"admin"}`)
			wantError(t, fmt.Sprintf("mode %s: %s /auth/dev-login", mode, method), res, body, http.StatusNotFound, "not_found", "")
		}
		// The rest of /auth is the API's too, never the view's.
		if res, body := g.get(t, "/auth/other"); res.StatusCode != http.StatusNotFound || strings.HasPrefix(body, "view") {
			t.Errorf("mode %s: /auth/other: %d %q", mode, res.StatusCode, body)
		}
		if res, body := g.get(t, "/authors"); res.StatusCode != 200 || body != "view /authors" {
			t.Errorf("mode %s: /authors: %d %q, want the view", mode, res.StatusCode, body)
		}
	}
}

func TestAuthConfigInEachMode(t *testing.T) {
	for _, mode := range []auth.Mode{auth.ModeJWT, auth.ModeDev, auth.ModeNone} {
		g := newAuthGateway(t, mode, nil)
		res, body := g.get(t, "/auth/config")
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
			res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("mode %s: %d %v %q", mode, res.StatusCode, res.Header, body)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 1 || got["mode"] != string(mode) {
			t.Errorf("mode %s: /auth/config %q", mode, body)
		}
		if res, _ := g.do(t, "POST", "/auth/config", "", ""); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("mode %s: POST /auth/config: %d", mode, res.StatusCode)
		}
	}
}

func TestAuthEndpointsCORS(t *testing.T) {
	g := newAuthGateway(t, auth.ModeDev, nil)
	preflight(t, g, "/auth/dev-login")
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/auth/dev-login", `{"subject":"m-1","role":"manager","teams":["team_one"]}`},
		{"GET", "/auth/config", ""},
		{"GET", "/tracking/redis/team_one", ""}, // a 401: the browser may read it
	} {
		req, _ := http.NewRequest(c.method, g.url(c.path), strings.NewReader(c.body))
		req.Header.Set("Origin", "https://map.example")
		res, _ := g.send(t, req)
		if res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s %s: %d without CORS headers: %v", c.method, c.path, res.StatusCode, res.Header)
		}
		if res.StatusCode == 401 && !strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
			t.Errorf("401 does not expose WWW-Authenticate: %v", res.Header)
		}
	}
}

// TestTokensNeverReachTheLogs sends tokens every way a client can (header,
// query, percent-encoded names and values, accepted or refused, proxied or
// failing upstream) and looks for any part of them in the gateway's logs.
func TestTokensNeverReachTheLogs(t *testing.T) {
	up := newUpstream(t, "a", nil)
	g := newAuthGateway(t, auth.ModeDev, map[string][]string{redisSvc: {up.addr()}, kafkaSvc: {testsupport.FreeAddr(t)}})

	var secrets []string
	fresh := func() string { // a token of its own: a subject of its own
		tok := mint(t, auth.Claims{Subject: fmt.Sprintf("m-%d", len(secrets)), Role: auth.RoleManager, Teams: []string{"team_one"}})
		secrets = append(secrets, tok)
		return tok
	}
	type req struct {
		path, header string
		status       int
	}
	var reqs []req
	add := func(path, header string, status int) { reqs = append(reqs, req{path, header, status}) }

	add("/tracking/redis/team_one/positions", fresh(), 200)
	add("/tracking/redis/team_one/positions?access_token="+fresh()+"&x=1", "", 200)
	// The names as a server decodes them: TokenFromRequest reads these, so
	// the log must not show them either.
	add("/tracking/redis/team_one/positions?access%5Ftoken="+fresh(), "", 200)
	add("/tracking/redis/team_one/positions?%61ccess_token="+fresh(), "", 200)
	add("/tracking/redis/team_one/positions?ACCESS_TOKEN=x&access_token="+fresh(), "", 200)
	// A percent-encoded value.
	tok := fresh()
	add("/tracking/redis/team_one/positions?access_token="+strings.ReplaceAll(tok, ".", "%2E"), "", 200)
	// Refused, and in places nothing reads but a log might show.
	add("/tracking/redis/team_two?access_token="+fresh(), "", 403)
	add("/tracking/redis/team_one?token="+fresh(), "", 401)
	add("/tracking/redis/team_one?a=1;access_token="+fresh(), "", 401)
	add("/tracking/redis/team_one?access_token="+fresh()+"&access_token="+fresh(), "", 401)
	tok = fresh()
	add("/tracking/redis/team_one/positions?access_token="+tok[:strings.LastIndexByte(tok, '.')+1]+"AAAA", "", 401)
	// Through an upstream that is down (a proxy error line too).
	add("/tracking/kafka/team_one/positions?access%5ftoken="+fresh(), "", 503)
	// Off the proxy.
	add("/?access_token="+fresh(), "", 200)
	add("/auth/config?access_token="+fresh(), "", 200)

	for _, r := range reqs {
		res, body := g.do(t, "GET", r.path, r.header, "")
		if res.StatusCode != r.status {
			t.Errorf("GET %.80s: %d %q, want %d", r.path, res.StatusCode, body, r.status)
		}
	}
	// dev-login answers a token; its log line must not carry it.
	secrets = append(secrets, login(t, g, `{"subject":"m-9","role":"manager","teams":["team_one"]}`))

	testsupport.Eventually(t, 5*time.Second, "every access log line", func() bool {
		return strings.Count(g.logs.String(), "msg=request ") == len(reqs)+1
	})
	logs := g.logs.String()
	for _, s := range secrets {
		parts := strings.Split(s, ".")
		// The header part is the same in every HS256 token; the claims and
		// the signature are the token's own.
		for _, part := range append([]string{s, url.QueryEscape(s)}, parts[1:]...) {
			if part != "" && strings.Contains(logs, part) {
				t.Fatalf("the logs carry a token (%.20s...):\n%s", part, logs)
			}
		}
	}
	for _, want := range []string{"access%5Ftoken=REDACTED", "%61ccess_token=REDACTED", "token=REDACTED", "dev-login: token issued"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
