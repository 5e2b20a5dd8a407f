// Command tracking-redis is a tracking replica whose broadcast strategy is
// Redis pub/sub. Configuration comes from the environment (see the README).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-redis/redisbroadcast"
)

const serviceName = "tracking-redis-service"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tracking-redis:", err)
		os.Exit(1)
	}
}

func run() error {
	var env service.Env
	cfg := service.ServiceFromEnv(&env, ":8081")
	rcfg := redisbroadcast.Config{
		Addr:          env.String("REDIS_ADDR", "localhost:6379"),
		Password:      env.String("REDIS_PASSWORD", ""),
		DB:            env.Int("REDIS_DB", 0),
		ChannelPrefix: env.String("REDIS_CHANNEL_PREFIX", "TRACKING_"),
		StaleAfter:    env.Duration("POSITION_STALE_AFTER", 10*time.Minute),
		Senders:       env.Int("REDIS_SENDERS", 2),
		Linger:        env.Duration("REDIS_LINGER", 2*time.Millisecond),
	}
	consulAddr := env.String("CONSUL_HTTP_ADDR", "")
	advertiseHost := env.String("ADVERTISE_HOST", "")
	level := env.Level("LOG_LEVEL")
	if err := env.Err(); err != nil {
		return err
	}
	log := service.NewLogger(level, serviceName)
	cfg.Logger = log
	cfg.Registry = service.NewRegistry()
	rcfg.Logger = log
	rcfg.Registerer = cfg.Registry
	cfg.Register = service.ConsulRegistration(consulAddr, serviceName, advertiseHost, log)

	b, err := redisbroadcast.New(rcfg)
	if err != nil {
		return err
	}
	svc, err := service.New(cfg, b)
	if err != nil {
		_ = b.Close()
		return err
	}
	log.Info("starting", "redis", rcfg.Addr, "channel_prefix", rcfg.ChannelPrefix, "consul", consulAddr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return svc.Run(ctx)
}
