package main

import (
	"log/slog"
	"strings"
	"time"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/discovery"
)

// settings is the gateway's environment; the README's configuration table
// documents each variable (a test checks it against readSettings).
type settings struct {
	HTTPAddr        string        // HTTP_ADDR; default :8080
	ConsulAddr      string        // CONSUL_HTTP_ADDR; default none: the static lists below
	EmptyGrace      time.Duration // CONSUL_EMPTY_GRACE: keep the last instances this long when Consul comes back empty; default discovery.DefaultEmptyGrace
	RedisAddrs      []string      // TRACKING_REDIS_ADDRS; default localhost:8081
	KafkaAddrs      []string      // TRACKING_KAFKA_ADDRS; default localhost:8082
	AllowedOrigins  []string      // CORS_ALLOWED_ORIGINS; default *
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT: how long open streams may take to end; default 10s
	LogLevel        slog.Level    // LOG_LEVEL; default info
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
		AllowedOrigins:  e.List("CORS_ALLOWED_ORIGINS", "*"),
		ShutdownTimeout: e.Duration("SHUTDOWN_TIMEOUT", 10*time.Second),
		LogLevel:        e.Level("LOG_LEVEL", slog.LevelInfo),
		Auth:            auth.ReadSettings(e, auth.DefaultMode),
	}
	if s.ShutdownTimeout <= 0 {
		e.Fail("SHUTDOWN_TIMEOUT", "a positive duration such as 10s")
	}
	return s
}

func (c settings) discoveryName() string {
	if c.ConsulAddr != "" {
		return "consul " + c.ConsulAddr
	}
	return "static redis=" + strings.Join(c.RedisAddrs, ",") + " kafka=" + strings.Join(c.KafkaAddrs, ",")
}
