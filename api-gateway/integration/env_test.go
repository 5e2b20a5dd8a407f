package integration_test

import (
	"os"
	"slices"
	"strings"
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
	s := services{
		redisAddr:    os.Getenv("TEST_REDIS_ADDR"),
		kafkaBrokers: os.Getenv("TEST_KAFKA_BROKERS"),
		consulAddr:   os.Getenv("TEST_CONSUL_HTTP_ADDR"),
		consulStop:   os.Getenv("TEST_CONSUL_STOP_CMD"),
		consulStart:  os.Getenv("TEST_CONSUL_START_CMD"),
	}
	var missing []string
	for name, v := range map[string]string{
		"TEST_REDIS_ADDR": s.redisAddr, "TEST_KAFKA_BROKERS": s.kafkaBrokers, "TEST_CONSUL_HTTP_ADDR": s.consulAddr,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		testsupport.Missing(t, strings.Join(missing, ", ")+" not set: "+servicesHint)
	}
	return s
}

// needConsulCommands is needServices plus the commands that stop and start
// the Consul agent.
func needConsulCommands(t *testing.T) services {
	t.Helper()
	s := needServices(t)
	if s.consulStop == "" || s.consulStart == "" {
		testsupport.Missing(t, "TEST_CONSUL_STOP_CMD and TEST_CONSUL_START_CMD must be set: "+servicesHint)
	}
	return s
}
