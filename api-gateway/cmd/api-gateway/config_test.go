package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/api-gateway/gateway"
	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/config/configtest"
	"github.com/teamtrack/tracking-core/discovery"
)

// The README's configuration table documents every variable the gateway
// reads, with its default, and nothing it does not read.
func TestREADME(t *testing.T) {
	e := config.Map(nil)
	c := readSettings(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || !slices.Equal(c.RedisAddrs, []string{"localhost:8081"}) || c.Auth.Mode != auth.ModeJWT {
		t.Fatalf("defaults: %+v", c)
	}
	configtest.CheckREADME(t, "api-gateway", e.Vars())
}

func TestSettingsFromEnv(t *testing.T) {
	e := config.Map(map[string]string{
		"HTTP_ADDR": "127.0.0.1:9000", "CONSUL_HTTP_ADDR": "consul:8500",
		"TRACKING_REDIS_ADDRS": "r1:8081, r2:8081,", "TRACKING_KAFKA_ADDRS": "k1:8082",
		"LOG_LEVEL": "debug", "SHUTDOWN_TIMEOUT": "3s", "AUTH_MODE": "dev",
	})
	c := readSettings(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9000" || c.ConsulAddr != "consul:8500" ||
		!slices.Equal(c.RedisAddrs, []string{"r1:8081", "r2:8081"}) || c.LogLevel != slog.LevelDebug ||
		c.ShutdownTimeout != 3*time.Second || c.Auth.Mode != auth.ModeDev {
		t.Fatalf("parsed: %+v", c)
	}
	for k, v := range map[string]string{"LOG_LEVEL": "loud", "SHUTDOWN_TIMEOUT": "-1s", "AUTH_MODE": "open", "TILE_URL": "ftp://tiles/{z}/{x}/{y}.png"} {
		e := config.Map(map[string]string{k: v})
		readSettings(e)
		if err := e.Err(); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}

// TILE_URL and TILE_ATTRIBUTION reach the view's page, for a self-hosted
// tile server or none at all.
func TestTileSettings(t *testing.T) {
	e := config.Map(map[string]string{"TILE_URL": "https://tiles.example.org/{z}/{x}/{y}.png", "TILE_ATTRIBUTION": "© Example"})
	s := readSettings(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	if s.View.TileURL != "https://tiles.example.org/{z}/{x}/{y}.png" || s.View.TileAttribution != "© Example" {
		t.Fatalf("view config: %+v", s.View)
	}
	h, err := view.New(s.View)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	switch {
	case !view.Built():
		t.Log("the view is not built (team-tracking-view/build.sh): its page is not checked")
	case rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "tiles.example.org"):
		t.Errorf("GET /: %d, want the page with the tile URL: %.300s", rec.Code, rec.Body.String())
	}
	e = config.Map(map[string]string{"TILE_URL": "none"})
	if s := readSettings(e); e.Err() != nil || s.View.TileURL != view.NoTiles {
		t.Errorf("TILE_URL=none: %v %q", e.Err(), s.View.TileURL)
	}
}

// DISCOVERY picks the resolver: Consul when its address is set, else the
// static lists; dns needs both names, each given its strategy's port.
func TestDiscoverySettings(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string // discoveryName
	}{
		{nil, "static redis=localhost:8081 kafka=localhost:8082"},
		{map[string]string{"CONSUL_HTTP_ADDR": "consul:8500"}, "consul consul:8500"},
		{map[string]string{"CONSUL_HTTP_ADDR": "consul:8500", "DISCOVERY": "static"}, "static redis=localhost:8081 kafka=localhost:8082"},
		{map[string]string{"DISCOVERY": "dns", "TRACKING_REDIS_DNS": "r.ns.svc.cluster.local", "TRACKING_KAFKA_DNS": "k.ns.svc:9000"},
			"dns redis=r.ns.svc.cluster.local:8081 kafka=k.ns.svc:9000"},
		{map[string]string{"DISCOVERY": "dns", "STRATEGIES": "redis", "TRACKING_REDIS_DNS": "r"}, "dns redis=r:8081 kafka="},
	} {
		e := config.Map(c.env)
		s := readSettings(e)
		if err := e.Err(); err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if got := s.discoveryName(); got != c.want {
			t.Errorf("%v: %q, want %q", c.env, got, c.want)
		}
	}
	for _, c := range []struct {
		env   map[string]string
		names string // the variable the error must name
	}{
		{map[string]string{"DISCOVERY": "etcd"}, "DISCOVERY"},
		{map[string]string{"STRATEGIES": "redis,nats"}, "STRATEGIES"},
		{map[string]string{"STRATEGIES": ","}, "STRATEGIES"},
		{map[string]string{"DISCOVERY": "consul"}, "CONSUL_HTTP_ADDR"},
		{map[string]string{"DISCOVERY": "dns", "TRACKING_KAFKA_DNS": "k"}, "TRACKING_REDIS_DNS"},
		{map[string]string{"DISCOVERY": "dns", "TRACKING_REDIS_DNS": "r"}, "TRACKING_KAFKA_DNS"},
		{map[string]string{"DISCOVERY": "dns", "TRACKING_REDIS_DNS": "r:x:1", "TRACKING_KAFKA_DNS": "k"}, "TRACKING_REDIS_DNS"},
		{map[string]string{"DISCOVERY": "dns", "TRACKING_REDIS_DNS": "r", "TRACKING_KAFKA_DNS": "k", "DISCOVERY_DNS_INTERVAL": "0s"}, "DISCOVERY_DNS_INTERVAL"},
	} {
		e := config.Map(c.env)
		readSettings(e)
		if err := e.Err(); err == nil || !strings.Contains(err.Error(), c.names) {
			t.Errorf("%v: %v, want an error naming %s", c.env, err, c.names)
		}
	}
	// A dns resolver is built from the settings and follows the names.
	e := config.Map(map[string]string{"DISCOVERY": "dns", "TRACKING_REDIS_DNS": "localhost", "TRACKING_KAFKA_DNS": "localhost:9"})
	r, err := newResolver(readSettings(e), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*discovery.DNS); !ok {
		t.Fatalf("resolver %T, want *discovery.DNS", r)
	}

	// One strategy: the gateway routes it alone and is ready with it alone.
	e = config.Map(map[string]string{"STRATEGIES": "kafka", "TRACKING_KAFKA_ADDRS": "k1:8082"})
	s := readSettings(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	st, err := newResolver(s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := st.Instances(gateway.DefaultServices["kafka"]); len(got) != 1 || got[0].Address != "k1:8082" {
		t.Fatalf("kafka instances %v", got)
	}
	if got := st.Instances(gateway.DefaultServices["redis"]); got != nil {
		t.Fatalf("redis is followed with STRATEGIES=kafka: %v", got)
	}
	if svcs := s.services(); len(svcs) != 1 || svcs["kafka"] == "" {
		t.Fatalf("services %v", svcs)
	}
}
