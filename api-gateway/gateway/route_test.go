package gateway

import (
	"net/url"
	"testing"
)

func TestParseRoute(t *testing.T) {
	for _, c := range []struct {
		method, path string
		ok           bool
		strategy     string
		upPath       string
		kind         Kind
		team         string
	}{
		{"POST", "/tracking/redis", true, "redis", "/tracking", KindPublish, ""},
		{"POST", "/tracking/redis/", true, "redis", "/tracking/", KindPublish, ""},
		{"GET", "/tracking/redis", true, "redis", "/tracking", KindOther, ""},
		{"GET", "/tracking/kafka/", true, "kafka", "/tracking/", KindOther, ""},
		{"GET", "/tracking/redis/ws", true, "redis", "/tracking/ws", KindWorkerWS, ""},
		{"GET", "/tracking/kafka/team_one", true, "kafka", "/tracking/team_one", KindTeamSSE, "team_one"},
		{"GET", "/tracking/kafka/team_one/", true, "kafka", "/tracking/team_one/", KindTeamSSE, "team_one"},
		{"GET", "/tracking/redis/team_one/ws", true, "redis", "/tracking/team_one/ws", KindTeamWS, "team_one"},
		{"GET", "/tracking/redis/team.a:b-c/positions", true, "redis", "/tracking/team.a:b-c/positions", KindPositions, "team.a:b-c"},
		{"GET", "/tracking/redis/team_one/other", true, "redis", "/tracking/team_one/other", KindOther, ""},
		{"GET", "/tracking/redis/osmand", true, "redis", "/osmand", KindPhone, ""},
		{"POST", "/tracking/kafka/osmand/", true, "kafka", "/osmand/", KindPhone, ""},
		{"POST", "/tracking/redis/owntracks", true, "redis", "/owntracks", KindPhone, ""},
		{"GET", "/tracking/redis/devices", true, "redis", "/devices", KindDevices, ""},
		{"DELETE", "/tracking/redis/devices/kim/phone", true, "redis", "/devices/kim/phone", KindDevices, ""},
		{"GET", "/tracking/foo/team_one", false, "foo", "", "", ""},
		{"GET", "/tracking/", false, "", "", "", ""},
		{"GET", "/tracking", false, "", "", "", ""},
		{"GET", "/trackingx/redis", false, "", "", "", ""},
	} {
		u := &url.URL{Path: c.path}
		r, ok := parseRoute(c.method, u, DefaultServices)
		if ok != c.ok || r.Strategy != c.strategy || r.Path != c.upPath || r.Kind != c.kind || r.Team != c.team {
			t.Errorf("%s %s: got ok=%v %+v, want ok=%v strategy=%q path=%q kind=%q team=%q",
				c.method, c.path, ok, r, c.ok, c.strategy, c.upPath, c.kind, c.team)
		}
		if ok && r.Service != DefaultServices[c.strategy] {
			t.Errorf("%s: service %q", c.path, r.Service)
		}
	}
}

func TestParseRouteKeepsEscapedPath(t *testing.T) {
	u, _ := url.Parse("/tracking/redis/a%2Fb/positions")
	r, ok := parseRoute("GET", u, DefaultServices)
	if !ok || r.RawPath != "/tracking/a%2Fb/positions" || r.Path != "/tracking/a/b/positions" {
		t.Fatalf("got %+v", r)
	}
	u, _ = url.Parse("/tracking/redis/devices/kim%2Fphone")
	r, ok = parseRoute("GET", u, DefaultServices)
	if !ok || r.RawPath != "/devices/kim%2Fphone" || r.Path != "/devices/kim/phone" {
		t.Fatalf("got %+v", r)
	}
}

// TestPrefixRewriteEndToEnd sends requests through the gateway and checks
// the path and query the upstream received.
func TestPrefixRewriteEndToEnd(t *testing.T) {
	redis := newUpstream(t, "redis", nil)
	kafka := newUpstream(t, "kafka", nil)
	g := newTestGateway(t, map[string][]string{redisSvc: {redis.addr()}, kafkaSvc: {kafka.addr()}})
	for _, c := range []struct {
		method, path, wantUpstream, wantURI string
	}{
		{"POST", "/tracking/redis", "redis", "/tracking"},
		{"POST", "/tracking/redis/", "redis", "/tracking/"},
		{"POST", "/tracking/kafka", "kafka", "/tracking"},
		{"POST", "/tracking/kafka/", "kafka", "/tracking/"},
		{"GET", "/tracking/redis/team_one", "redis", "/tracking/team_one"},
		{"GET", "/tracking/kafka/team_two/positions?x=1&y=2", "kafka", "/tracking/team_two/positions?x=1&y=2"},
		{"GET", "/tracking/redis/team_one/ws?token=abc", "redis", "/tracking/team_one/ws?token=abc"},
		{"GET", "/tracking/kafka/healthz", "kafka", "/tracking/healthz"},
	} {
		res, body := g.do(t, c.method, c.path, "", "")
		if res.StatusCode != 200 || res.Header.Get("X-Upstream") != c.wantUpstream || body != c.method+" "+c.wantURI {
			t.Errorf("%s %s: %d from %q: %q; want %q from %s", c.method, c.path, res.StatusCode,
				res.Header.Get("X-Upstream"), body, c.method+" "+c.wantURI, c.wantUpstream)
		}
	}
	last := redis.last()
	if last.Header.Get("X-Forwarded-For") == "" || last.Header.Get("X-Forwarded-Host") == "" {
		t.Errorf("upstream got no X-Forwarded-*: %v", last.Header)
	}
	if want := g.srv.Listener.Addr().String(); last.Host != want {
		t.Errorf("upstream Host %q, want the client's %q", last.Host, want)
	}
}
