package main

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/auth"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/config/configtest"
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
	for k, v := range map[string]string{"LOG_LEVEL": "loud", "SHUTDOWN_TIMEOUT": "-1s", "AUTH_MODE": "open"} {
		e := config.Map(map[string]string{k: v})
		readSettings(e)
		if err := e.Err(); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}
