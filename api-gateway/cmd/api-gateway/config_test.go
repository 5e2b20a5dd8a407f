package main

import (
	"log/slog"
	"slices"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := configFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.ConsulAddr != "" || !slices.Equal(c.RedisAddrs, []string{"localhost:8081"}) ||
		!slices.Equal(c.KafkaAddrs, []string{"localhost:8082"}) || c.LogLevel != slog.LevelInfo ||
		c.ShutdownTimeout != 10*time.Second || !slices.Equal(c.AllowedOrigins, []string{"*"}) {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"HTTP_ADDR": "127.0.0.1:9000", "CONSUL_HTTP_ADDR": "consul:8500",
		"TRACKING_REDIS_ADDRS": "r1:8081, r2:8081,", "TRACKING_KAFKA_ADDRS": "k1:8082",
		"LOG_LEVEL": "debug", "SHUTDOWN_TIMEOUT": "3s",
	}
	c, err := configFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9000" || c.ConsulAddr != "consul:8500" ||
		!slices.Equal(c.RedisAddrs, []string{"r1:8081", "r2:8081"}) || c.LogLevel != slog.LevelDebug ||
		c.ShutdownTimeout != 3*time.Second {
		t.Fatalf("parsed: %+v", c)
	}
	for k, v := range map[string]string{"LOG_LEVEL": "loud", "SHUTDOWN_TIMEOUT": "soon"} {
		if _, err := configFromEnv(func(n string) string {
			if n == k {
				return v
			}
			return ""
		}); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}
