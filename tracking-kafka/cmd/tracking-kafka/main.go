// Command tracking-kafka is a tracking replica whose broadcast strategy is
// Kafka. Configuration comes from the environment (see the README).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	metrics "github.com/rcrowley/go-metrics"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-kafka/kafkabroadcast"
)

func main() {
	// sarama records some meters through go-metrics whatever its config says;
	// nil metrics keep that off the hot path (Prometheus has ours).
	metrics.UseNilMetrics = true
	if err := service.Main("tracking-kafka-service", ":8082", configure); err != nil {
		fmt.Fprintln(os.Stderr, "tracking-kafka:", err)
		os.Exit(1)
	}
}

func configure(env *config.Env) service.Opener {
	def := kafkabroadcast.Config{}.WithDefaults()
	rf := int16(env.Int("KAFKA_REPLICATION_FACTOR", int(def.ReplicationFactor)))
	// Its default follows the replication factor.
	minISR := kafkabroadcast.Config{ReplicationFactor: rf}.WithDefaults().MinInsyncReplicas
	cfg := kafkabroadcast.Config{
		Brokers:           env.List("KAFKA_BROKERS", strings.Join(def.Brokers, ",")),
		Topic:             env.String("KAFKA_TOPIC", def.Topic),
		LastTopic:         env.String("KAFKA_LAST_TOPIC", def.LastTopic),
		StateTopic:        env.String("KAFKA_STATE_TOPIC", def.StateTopic),
		MailboxTopic:      env.String("KAFKA_MAILBOX_TOPIC", def.MailboxTopic),
		Partitions:        int32(env.Int("KAFKA_PARTITIONS", int(def.Partitions))),
		ReplicationFactor: rf,
		MinInsyncReplicas: int16(env.Int("KAFKA_MIN_INSYNC_REPLICAS", int(minISR))),
		ClientID:          env.String("KAFKA_CLIENT_ID", def.ClientID),
		StaleAfter:        env.Duration("POSITION_STALE_AFTER", def.StaleAfter),
	}
	return func(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (tracking.Broadcaster, error) {
		cfg.Logger, cfg.Registerer = log, reg
		log.Info("kafka strategy", "brokers", cfg.Brokers, "topic", cfg.Topic, "last_topic", cfg.LastTopic,
			"state_topic", cfg.StateTopic, "mailbox_topic", cfg.MailboxTopic,
			"replication_factor", cfg.ReplicationFactor, "min_insync_replicas", cfg.MinInsyncReplicas)
		return kafkabroadcast.New(ctx, cfg)
	}
}
