package kafkabroadcast_test

import (
	"testing"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/servicetest"
)

func TestConformance(t *testing.T) {
	brokers(t)
	setup := func(queueSize int) broadcasttest.Setup {
		return func(t *testing.T) func() tracking.Broadcaster {
			cfg := testConfig(t)
			cfg.QueueSize = queueSize
			return func() tracking.Broadcaster { return newReplica(t, cfg, nil) }
		}
	}
	features := broadcasttest.Features{
		RestartBroker: restartBroker(t),
		Overload:      setup(8),
		QueueSize:     8,
		Timeout:       30 * time.Second,
	}
	broadcasttest.Run(t, features, setup(0))
}

// TestScenarios runs the end-to-end scenarios shared with the Redis strategy:
// two replicas over real HTTP on a real Kafka broker.
func TestScenarios(t *testing.T) {
	brokers(t)
	servicetest.Run(t, servicetest.Features{RestartBroker: restartBroker(t), Timeout: 30 * time.Second}, func(t *testing.T) func() tracking.Broadcaster {
		cfg := testConfig(t)
		return func() tracking.Broadcaster { return newReplica(t, cfg, nil) }
	})
}
