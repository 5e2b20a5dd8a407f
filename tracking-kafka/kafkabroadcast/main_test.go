package kafkabroadcast_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-kafka/kafkabroadcast"
)

// The tests run against a real broker: TEST_KAFKA_BROKERS (comma separated),
// as written by scripts/test-services.sh up kafka. TEST_KAFKA_STOP_CMD and
// TEST_KAFKA_START_CMD (run with sh -c) let the restart test bounce it.
// KAFKA_TEST_DEBUG=1 sends sarama's and the broadcaster's logs to stderr.

func TestMain(m *testing.M) {
	if os.Getenv("KAFKA_TEST_DEBUG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags|log.Lmicroseconds)
	}
	// go-metrics' arbiter is a process-wide goroutine that sarama starts on
	// the first fetch whatever its config says (see nometrics.go); it belongs
	// to no Broadcaster.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}

// brokers returns the test broker addresses, skipping the test when there is
// none, except in CI, which must run these tests.
func brokers(t testing.TB) []string {
	t.Helper()
	v := testsupport.Env(t, "TEST_KAFKA_BROKERS", "run scripts/test-services.sh up kafka and source its env file")
	return strings.Split(v, ",")
}

// testConfig returns a Config on the test broker with topics of the test's own.
func testConfig(t testing.TB) kafkabroadcast.Config {
	t.Helper()
	addrs := brokers(t)
	prefix := uniquePrefix(t)
	cfg := kafkabroadcast.Config{
		Brokers:    addrs,
		Topic:      prefix + ".positions",
		LastTopic:  prefix + ".last",
		StateTopic: prefix + ".states",
		ClientID:   "kafkabroadcast-test",

		MailboxTopic: prefix + ".mailbox",
	}
	if os.Getenv("KAFKA_TEST_DEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	t.Cleanup(func() { deleteTopics(t, addrs, cfg.Topic, cfg.LastTopic, cfg.StateTopic, cfg.MailboxTopic) })
	return cfg
}

func uniquePrefix(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '.'
	}, t.Name())
	if len(name) > 80 {
		name = name[:80]
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "kbtest." + name + "." + hex.EncodeToString(b[:])
}

// deleteTopics removes a test's topics, best effort: the test broker is shared
// by every run.
func deleteTopics(t testing.TB, addrs []string, topics ...string) {
	conf := sarama.NewConfig()
	conf.Version = sarama.V3_0_0_0
	conf.MetricRegistry = kafkabroadcast.SaramaMetricsOff
	admin, err := sarama.NewClusterAdmin(addrs, conf)
	if err != nil {
		t.Logf("delete topics %v: %v", topics, err)
		return
	}
	defer admin.Close()
	for _, topic := range topics {
		if err := admin.DeleteTopic(topic); err != nil && !strings.Contains(err.Error(), "does not exist") {
			t.Logf("delete topic %s: %v", topic, err)
		}
	}
}

// newReplica starts a Broadcaster closed at the end of the test.
func newReplica(t testing.TB, cfg kafkabroadcast.Config, reg prometheus.Registerer) *kafkabroadcast.Broadcaster {
	t.Helper()
	cfg.Registerer = reg
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := kafkabroadcast.New(ctx, cfg)
	if err != nil {
		t.Fatalf("new broadcaster: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// restartBroker is nil without the stop and start commands (outside CI).
func restartBroker(t *testing.T) func(t *testing.T) {
	stop, start := os.Getenv("TEST_KAFKA_STOP_CMD"), os.Getenv("TEST_KAFKA_START_CMD")
	if stop == "" || start == "" {
		if testsupport.InCI() {
			t.Fatal("TEST_KAFKA_STOP_CMD and TEST_KAFKA_START_CMD must be set in CI")
		}
		t.Log("TEST_KAFKA_STOP_CMD or TEST_KAFKA_START_CMD not set: the broker restart test is skipped")
		return nil
	}
	return func(t *testing.T) {
		run := func(what, cmd string) {
			out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
			if err != nil {
				t.Fatalf("%s kafka (%s): %v\n%s", what, cmd, err, out)
			}
		}
		run("stop", stop)
		run("start", start)
		for _, addr := range brokers(t) {
			testsupport.Eventually(t, 90*time.Second, "kafka at "+addr+" accepting connections after start", func() bool {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err == nil {
					_ = c.Close()
				}
				return err == nil
			})
		}
	}
}
