// Command tracking-kafka is a tracking replica whose broadcast strategy is
// Kafka. Configuration comes from the environment (see the README).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	metrics "github.com/rcrowley/go-metrics"

	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-kafka/kafkabroadcast"
)

const serviceName = "tracking-kafka-service"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tracking-kafka:", err)
		os.Exit(1)
	}
}

func run() error {
	// sarama records some meters through go-metrics whatever its config says;
	// nil metrics keep that off the hot path (Prometheus has ours).
	metrics.UseNilMetrics = true
	var env service.Env
	cfg := service.ServiceFromEnv(&env, ":8082")
	kcfg := kafkabroadcast.Config{
		Brokers:           env.List("KAFKA_BROKERS", []string{"localhost:9092"}),
		Topic:             env.String("KAFKA_TOPIC", "tracking.positions"),
		LastTopic:         env.String("KAFKA_LAST_TOPIC", "tracking.positions.last"),
		Partitions:        int32(env.Int("KAFKA_PARTITIONS", 12)),
		ReplicationFactor: int16(env.Int("KAFKA_REPLICATION_FACTOR", 1)),
		ClientID:          env.String("KAFKA_CLIENT_ID", "tracking-kafka"),
		StaleAfter:        env.Duration("POSITION_STALE_AFTER", 10*time.Minute),
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
	kcfg.Logger = log
	kcfg.Registerer = cfg.Registry
	cfg.Register = service.ConsulRegistration(consulAddr, serviceName, advertiseHost, log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := kafkabroadcast.New(ctx, kcfg)
	if err != nil {
		return err
	}
	svc, err := service.New(cfg, b)
	if err != nil {
		_ = b.Close()
		return err
	}
	log.Info("starting", "brokers", kcfg.Brokers, "topic", kcfg.Topic, "last_topic", kcfg.LastTopic, "consul", consulAddr)
	return svc.Run(ctx)
}
