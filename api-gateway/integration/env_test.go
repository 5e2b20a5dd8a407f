package integration_test

import (
	"testing"

	"github.com/teamtrack/tracking-core/testsupport"
)

// services are the shared servers from scripts/test-services.sh.
type services struct {
	redisAddr    string // TEST_REDIS_ADDR
	kafkaBrokers string // TEST_KAFKA_BROKERS
	consulAddr   string // TEST_CONSUL_HTTP_ADDR
	consulStop   string // TEST_CONSUL_STOP_CMD
	consulStart  string // TEST_CONSUL_START_CMD
}

const servicesHint = "run `scripts/test-services.sh up redis kafka consul` and source /tmp/teamtrack-test-services/env"

// needServices returns the servers' addresses, or skips the test when they
// are not set (fails under CI, where a skip would hide the gap).
func needServices(t *testing.T) services {
	t.Helper()
	return services{
		redisAddr:    testsupport.Env(t, "TEST_REDIS_ADDR", servicesHint),
		kafkaBrokers: testsupport.Env(t, "TEST_KAFKA_BROKERS", servicesHint),
		consulAddr:   testsupport.Env(t, "TEST_CONSUL_HTTP_ADDR", servicesHint),
	}
}

// needConsulCommands is needServices plus the commands that stop and start
// the Consul agent.
func needConsulCommands(t *testing.T) services {
	t.Helper()
	s := needServices(t)
	s.consulStop = testsupport.Env(t, "TEST_CONSUL_STOP_CMD", servicesHint)
	s.consulStart = testsupport.Env(t, "TEST_CONSUL_START_CMD", servicesHint)
	return s
}
