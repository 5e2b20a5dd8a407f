package redisbroadcast_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-redis/redisbroadcast"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// redisAddr is the real redis-server the test scripts started.
func redisAddr(t *testing.T) string {
	return testsupport.Env(t, "TEST_REDIS_ADDR", "start redis with scripts/test-services.sh up redis and source its env file")
}

func prefix(t *testing.T) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("T%s_%d_", name, rand.Uint32())
}

// setup makes the replicas of one test on the real redis-server, under a
// channel prefix of the test's own.
func setup(addr string, queueSize int) broadcasttest.Setup {
	return func(t *testing.T) func() tracking.Broadcaster {
		p := prefix(t)
		return func() tracking.Broadcaster {
			b, err := redisbroadcast.New(redisbroadcast.Config{Addr: addr, ChannelPrefix: p, QueueSize: queueSize})
			if err != nil {
				t.Fatalf("new broadcaster: %v", err)
			}
			return b
		}
	}
}

func TestConformance(t *testing.T) {
	addr := redisAddr(t)
	features := broadcasttest.Features{RestartBroker: restartRedis, Overload: setup(addr, 8), QueueSize: 8}
	broadcasttest.Run(t, features, setup(addr, 0))
}

// restartRedis stops and starts the test redis-server on the same port.
func restartRedis(t *testing.T) {
	stop, start := os.Getenv("TEST_REDIS_STOP_CMD"), os.Getenv("TEST_REDIS_START_CMD")
	if stop == "" || start == "" {
		t.Fatal("TEST_REDIS_STOP_CMD / TEST_REDIS_START_CMD not set")
	}
	for _, cmd := range []string{stop, start} {
		if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
	}
}

// TestScenarios runs the end-to-end scenarios with two replicas on real Redis.
func TestScenarios(t *testing.T) {
	servicetest.Run(t, servicetest.Features{RestartBroker: restartRedis}, setup(redisAddr(t), 0))
}
