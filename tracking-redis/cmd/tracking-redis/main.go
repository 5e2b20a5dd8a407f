// Command tracking-redis is a tracking replica whose broadcast strategy is
// Redis pub/sub. Configuration comes from the environment (see the README).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-redis/redisbroadcast"
)

func main() {
	if err := service.Main("tracking-redis-service", ":8081", configure); err != nil {
		fmt.Fprintln(os.Stderr, "tracking-redis:", err)
		os.Exit(1)
	}
}

func configure(env *config.Env) service.Opener {
	cfg := redisbroadcast.Config{
		Addr:          env.String("REDIS_ADDR", "localhost:6379"),
		Password:      env.String("REDIS_PASSWORD", ""),
		DB:            env.Int("REDIS_DB", 0),
		ChannelPrefix: env.String("REDIS_CHANNEL_PREFIX", "TRACKING_"),
		StaleAfter:    env.Duration("POSITION_STALE_AFTER", 10*time.Minute),
		Senders:       env.Int("REDIS_SENDERS", 2),
		Linger:        env.Duration("REDIS_LINGER", 2*time.Millisecond),
	}
	return func(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (tracking.Broadcaster, error) {
		cfg.Logger, cfg.Registerer = log, reg
		log.Info("redis strategy", "redis", cfg.Addr, "channel_prefix", cfg.ChannelPrefix)
		return redisbroadcast.New(cfg)
	}
}
