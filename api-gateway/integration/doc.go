// Package integration holds the gateway's end-to-end tests: the real
// api-gateway, tracking-redis and tracking-kafka binaries, built from this
// workspace, run as child processes against the real Redis, Kafka and Consul
// that scripts/test-services.sh starts, and the tests talk to them only
// through the gateway as workers and managers would (plus the replicas' and
// the gateway's /metrics and logs, to see where each connection went).
//
//	scripts/test-services.sh up redis kafka consul
//	. /tmp/teamtrack-test-services/env
//	go test -race -count=1 ./api-gateway/integration/
//
// Without TEST_REDIS_ADDR, TEST_KAFKA_BROKERS and TEST_CONSUL_HTTP_ADDR the
// tests skip (they fail when CI is set). The gateway follows the fixed
// service names tracking-redis-service and tracking-kafka-service, so one run
// of these tests at a time may use a given Consul agent: a lock file per agent
// address serialises runs on one machine, and a test fails, saying so, when
// instances it did not start are registered under those names.
//
// TestBrowserResumesThroughGateway also needs headless Chromium (`up ...
// chromium`): the browser's own EventSource is the manager whose connection
// the test cuts.
//
// TestGatewayOverhead measures rather than checks: it runs only with
// GWIT_MEASURE=1 and logs latency and throughput figures, direct and through
// the gateway (see its doc comment).
package integration
