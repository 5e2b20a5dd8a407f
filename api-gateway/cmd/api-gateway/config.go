package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/teamtrack/tracking-core/auth"
)

// config is the gateway's environment:
//
//	HTTP_ADDR              listen address (default :8080)
//	CONSUL_HTTP_ADDR       Consul agent; unset: the static lists below
//	TRACKING_REDIS_ADDRS   static tracking-redis instances, comma separated (default localhost:8081)
//	TRACKING_KAFKA_ADDRS   static tracking-kafka instances, comma separated (default localhost:8082)
//	CORS_ALLOWED_ORIGINS   comma separated, or * (default *)
//	SHUTDOWN_TIMEOUT       how long open streams may take to end on shutdown (default 10s)
//	LOG_LEVEL              debug, info, warn or error (default info)
//	AUTH_MODE              jwt, dev or none (default DefaultAuthMode, jwt)
//	AUTH_JWT_SECRET        HS256 secret, at least 32 bytes, taken byte for byte
//	                       (modes jwt without AUTH_JWKS_URL, and dev)
//	AUTH_JWKS_URL          the identity provider's JWKS (mode jwt, RS256/ES256)
//	AUTH_ISSUER            required iss of tokens (mode jwt; default: not checked)
//	AUTH_AUDIENCE          required aud of tokens (mode jwt; default: not checked)
//
// The AUTH_ variables are the tracking services' too: each checks the same
// tokens the same way.
type config struct {
	HTTPAddr        string
	ConsulAddr      string
	RedisAddrs      []string
	KafkaAddrs      []string
	AllowedOrigins  []string
	ShutdownTimeout time.Duration
	LogLevel        slog.Level

	AuthMode     auth.Mode
	AuthSecret   []byte
	AuthJWKSURL  string
	AuthIssuer   string
	AuthAudience string
}

// DefaultAuthMode is AUTH_MODE's default: production needs tokens, and the
// gateway refuses to start without a key. The local platform sets dev.
const DefaultAuthMode = auth.ModeJWT

func configFromEnv(getenv func(string) string) (config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := config{
		HTTPAddr:       get("HTTP_ADDR", ":8080"),
		ConsulAddr:     get("CONSUL_HTTP_ADDR", ""),
		RedisAddrs:     list(get("TRACKING_REDIS_ADDRS", "localhost:8081")),
		KafkaAddrs:     list(get("TRACKING_KAFKA_ADDRS", "localhost:8082")),
		AllowedOrigins: list(get("CORS_ALLOWED_ORIGINS", "*")),
	}
	var err error
	if c.ShutdownTimeout, err = time.ParseDuration(get("SHUTDOWN_TIMEOUT", "10s")); err != nil || c.ShutdownTimeout <= 0 {
		return c, fmt.Errorf("SHUTDOWN_TIMEOUT %q: want a positive duration like 10s", getenv("SHUTDOWN_TIMEOUT"))
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	// An empty AUTH_MODE is DefaultAuthMode, not ParseMode's jwt.
	if c.AuthMode, err = auth.ParseMode(get("AUTH_MODE", string(DefaultAuthMode))); err != nil {
		return c, fmt.Errorf("AUTH_MODE: %w", err)
	}
	c.AuthSecret = []byte(getenv("AUTH_JWT_SECRET")) // a secret is used as given, spaces and all
	c.AuthJWKSURL = get("AUTH_JWKS_URL", "")
	c.AuthIssuer = get("AUTH_ISSUER", "")
	c.AuthAudience = get("AUTH_AUDIENCE", "")
	return c, nil
}

func (c config) discoveryName() string {
	if c.ConsulAddr != "" {
		return "consul " + c.ConsulAddr
	}
	return "static redis=" + strings.Join(c.RedisAddrs, ",") + " kafka=" + strings.Join(c.KafkaAddrs, ",")
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
