package redisbroadcast_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-redis/redisbroadcast"
)

// go-redis retries dialing a dead node (a killed master) once a second in a
// goroutine of its pool, which ends at the first attempt after Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

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
	return setupWindow(addr, queueSize, 0)
}

func setupWindow(addr string, queueSize int, window time.Duration) broadcasttest.Setup {
	return func(t *testing.T) func() tracking.Broadcaster {
		p := prefix(t)
		return func() tracking.Broadcaster {
			b, err := redisbroadcast.New(redisbroadcast.Config{Addr: addr, ChannelPrefix: p, QueueSize: queueSize, ResumeWindow: window})
			if err != nil {
				t.Fatalf("new broadcaster: %v", err)
			}
			return b
		}
	}
}

func TestConformance(t *testing.T) {
	addr := redisAddr(t)
	const window = time.Second
	features := broadcasttest.Features{RestartBroker: restartRedis, Overload: setup(addr, 8), QueueSize: 8,
		Windowed: setupWindow(addr, 0, window), ResumeWindow: window}
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

// A redis-server that restarts empty has lost the teams' streams: an offset
// from before cannot be resumed from, and the epoch says so instead of
// resuming against the new entries.
func TestResumeAfterRedisLostItsData(t *testing.T) {
	addr := redisAddr(t)
	r := broadcasttest.Replicas(t, setup(addr, 0), 1)
	const team = "team_lost"
	_, head0 := broadcasttest.Since(t, r[0], team, tracking.Offset{})
	broadcasttest.MustPublish(t, r[0], broadcasttest.Msg(team, "w1", 1), broadcasttest.Msg(team, "w1", 2))
	var before []tracking.Message
	testsupport.Eventually(t, 5*time.Second, "both positions in the stream", func() bool {
		before, _ = broadcasttest.Since(t, r[0], team, head0)
		return len(before) == 2
	})
	restartRedis(t)
	testsupport.Eventually(t, 10*time.Second, "redis back", func() bool { return r[0].Ready(t.Context()) == nil })
	// New positions after the restart, more of them than before.
	for i := 3; i <= 6; i++ {
		if err := broadcasttest.Publish(r[0], broadcasttest.Msg(team, "w1", i)); err != nil {
			t.Fatal(err)
		}
	}
	testsupport.Eventually(t, 10*time.Second, "the new positions in the stream", func() bool {
		_, head := broadcasttest.Since(t, r[0], team, tracking.Offset{})
		all, _, err := r[0].Since(t.Context(), team, tracking.Offset{Epoch: head.Epoch}, 100)
		return err == nil && len(all) == 4
	})
	for _, off := range []tracking.Offset{head0, before[0].Offset} {
		if msgs, _, err := r[0].Since(t.Context(), team, off, 100); !errors.Is(err, tracking.ErrGap) {
			t.Fatalf("Since(%v from before the data loss) = %v, %v; want ErrGap", off, broadcasttest.Seqs(msgs), err)
		}
	}
}

// BenchmarkResume: see servicetest.BenchResume (5 s of a 100-position/s team
// caught up after a cut), on the real redis-server.
func BenchmarkResume(b *testing.B) {
	addr := testsupport.Env(b, "TEST_REDIS_ADDR", "start redis with scripts/test-services.sh up redis and source its env file")
	p := fmt.Sprintf("Tbench_%d_", rand.Uint32())
	servicetest.BenchResume(b, func() tracking.Broadcaster {
		r, err := redisbroadcast.New(redisbroadcast.Config{Addr: addr, ChannelPrefix: p})
		if err != nil {
			b.Fatal(err)
		}
		return r
	})
}
