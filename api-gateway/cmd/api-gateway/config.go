package main

import (
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/teamtrack/api-gateway/gateway"
	view "github.com/teamtrack/team-tracking-view"
	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/discovery"
)

// settings is the gateway's environment; the README's configuration table
// documents each variable (a test checks it against readSettings).
type settings struct {
	HTTPAddr        string        // HTTP_ADDR; default :8080
	Strategies      []string      // STRATEGIES: the strategies routed (and needed for readiness); default redis,kafka
	Discovery       string        // DISCOVERY: consul, static or dns; default consul when CONSUL_HTTP_ADDR is set, else static
	ConsulAddr      string        // CONSUL_HTTP_ADDR; default none: the static lists below
	EmptyGrace      time.Duration // CONSUL_EMPTY_GRACE: keep the last instances this long when Consul comes back empty; default discovery.DefaultEmptyGrace
	RedisAddrs      []string      // TRACKING_REDIS_ADDRS; default localhost:8081
	KafkaAddrs      []string      // TRACKING_KAFKA_ADDRS; default localhost:8082
	RedisDNS        string        // TRACKING_REDIS_DNS: host[:port] looked up with DISCOVERY=dns; port default 8081
	KafkaDNS        string        // TRACKING_KAFKA_DNS: host[:port] looked up with DISCOVERY=dns; port default 8082
	DNSInterval     time.Duration // DISCOVERY_DNS_INTERVAL: time between lookups; default discovery.DefaultDNSInterval
	AllowedOrigins  []string      // CORS_ALLOWED_ORIGINS; default *
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT: how long open streams may take to end; default 10s
	LogLevel        slog.Level    // LOG_LEVEL; default info
	// View is the map view's TILE_URL and TILE_ATTRIBUTION; empty: the
	// view's defaults (OpenStreetMap).
	View view.Config
	// Auth is AUTH_*, read as the tracking services read it, so that each
	// checks the same tokens the same way; AUTH_MODE defaults to jwt.
	Auth auth.Settings
}

func readSettings(e *config.Env) settings {
	s := settings{
		HTTPAddr:        e.String("HTTP_ADDR", ":8080"),
		ConsulAddr:      e.String("CONSUL_HTTP_ADDR", ""),
		EmptyGrace:      e.Duration("CONSUL_EMPTY_GRACE", discovery.DefaultEmptyGrace),
		RedisAddrs:      e.List("TRACKING_REDIS_ADDRS", "localhost:8081"),
		KafkaAddrs:      e.List("TRACKING_KAFKA_ADDRS", "localhost:8082"),
		RedisDNS:        e.String("TRACKING_REDIS_DNS", ""),
		KafkaDNS:        e.String("TRACKING_KAFKA_DNS", ""),
		DNSInterval:     e.Duration("DISCOVERY_DNS_INTERVAL", discovery.DefaultDNSInterval),
		AllowedOrigins:  e.List("CORS_ALLOWED_ORIGINS", "*"),
		ShutdownTimeout: e.Duration("SHUTDOWN_TIMEOUT", 10*time.Second),
		LogLevel:        e.Level("LOG_LEVEL", slog.LevelInfo),
		View: view.Config{
			TileURL:         e.String("TILE_URL", ""),
			TileAttribution: e.String("TILE_ATTRIBUTION", ""),
		},
		Auth: auth.ReadSettings(e, auth.DefaultMode),
	}
	if s.ShutdownTimeout <= 0 {
		e.Fail("SHUTDOWN_TIMEOUT", "a positive duration such as 10s")
	}
	s.Strategies = e.List("STRATEGIES", "redis", "kafka")
	if len(s.Strategies) == 0 {
		e.Fail("STRATEGIES", "one or more of redis, kafka")
	}
	for _, st := range s.Strategies {
		if _, ok := gateway.DefaultServices[st]; !ok {
			e.Failf("STRATEGIES", "%q is not a strategy (redis, kafka)", st)
		}
	}
	if _, err := view.New(s.View); err != nil {
		e.Fail("TILE_URL", "none (no tile layer: the view's bundled world basemap) or an http(s) or root-relative URL template with {z}, {x} and {y}")
	}
	s.Discovery = e.String("DISCOVERY", "")
	switch s.Discovery {
	case "":
		s.Discovery = "static"
		if s.ConsulAddr != "" {
			s.Discovery = "consul"
		}
	case "static", "dns":
	case "consul":
		if s.ConsulAddr == "" {
			e.Fail("CONSUL_HTTP_ADDR", "the Consul agent's address (DISCOVERY=consul)")
		}
	default:
		e.Fail("DISCOVERY", "consul, static or dns")
	}
	if s.Discovery == "dns" {
		if slices.Contains(s.Strategies, "redis") {
			s.RedisDNS = withPort(e, "TRACKING_REDIS_DNS", s.RedisDNS, "8081")
		}
		if slices.Contains(s.Strategies, "kafka") {
			s.KafkaDNS = withPort(e, "TRACKING_KAFKA_DNS", s.KafkaDNS, "8082")
		}
		if s.DNSInterval <= 0 {
			e.Fail("DISCOVERY_DNS_INTERVAL", "a positive duration such as 5s")
		}
	}
	return s
}

// services maps each routed strategy to its service name.
func (c settings) services() map[string]string {
	m := make(map[string]string, len(c.Strategies))
	for _, st := range c.Strategies {
		m[st] = gateway.DefaultServices[st]
	}
	return m
}

// withPort is name's host[:port] with the default port added when it has
// none; an empty value fails (DISCOVERY=dns needs both names).
func withPort(e *config.Env, name, v, port string) string {
	if v == "" {
		e.Fail(name, "a DNS name such as tracking-redis-headless.teamtrack.svc.cluster.local (DISCOVERY=dns)")
		return ""
	}
	if _, _, err := net.SplitHostPort(v); err == nil {
		return v
	}
	if strings.Contains(v, ":") {
		e.Fail(name, "host or host:port")
		return ""
	}
	return net.JoinHostPort(v, port)
}

func (c settings) discoveryName() string {
	switch c.Discovery {
	case "consul":
		return "consul " + c.ConsulAddr
	case "dns":
		return "dns redis=" + c.RedisDNS + " kafka=" + c.KafkaDNS
	}
	return "static redis=" + strings.Join(c.RedisAddrs, ",") + " kafka=" + strings.Join(c.KafkaAddrs, ",")
}
