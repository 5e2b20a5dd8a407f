// Command tracking-redis is a tracking replica whose broadcast strategy is
// Redis pub/sub. Configuration comes from the environment (see the README).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

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
	def := redisbroadcast.Config{}.WithDefaults()
	cfg := redisbroadcast.Config{
		// REDIS_ADDR's default (localhost:6379) applies only when neither
		// REDIS_SENTINEL_ADDRS nor REDIS_CLUSTER_ADDRS is set (Config).
		Addr:             env.String("REDIS_ADDR", ""),
		SentinelAddrs:    env.List("REDIS_SENTINEL_ADDRS"),
		MasterName:       env.String("REDIS_MASTER_NAME", ""),
		SentinelPassword: env.Secret("REDIS_SENTINEL_PASSWORD"),
		ClusterAddrs:     env.List("REDIS_CLUSTER_ADDRS"),
		Password:         env.String("REDIS_PASSWORD", def.Password),
		DB:               env.Int("REDIS_DB", def.DB),
		ChannelPrefix:    env.String("REDIS_CHANNEL_PREFIX", def.ChannelPrefix),
		StaleAfter:       env.Duration("POSITION_STALE_AFTER", def.StaleAfter),
		ResumeWindow:     env.Duration("RESUME_WINDOW", def.ResumeWindow),
		// The hub replays at most RESUME_LIMIT positions: the stream keeps
		// no more entries than that.
		ResumeMaxEntries: env.Int("RESUME_LIMIT", def.ResumeMaxEntries),
		Senders:          env.Int("REDIS_SENDERS", def.Senders),
		Linger:           env.Duration("REDIS_LINGER", def.Linger),
	}
	return func(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (tracking.Broadcaster, error) {
		cfg.Logger, cfg.Registerer = log, reg
		log.Info("redis strategy", "topology", cfg.Topology(), "redis", cfg.Addr, "sentinels", cfg.SentinelAddrs,
			"master", cfg.MasterName, "cluster", cfg.ClusterAddrs, "channel_prefix", cfg.ChannelPrefix)
		return redisbroadcast.New(cfg)
	}
}
