package redisbroadcast_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/broadcasttest"
	"github.com/teamtrack/tracking-core/servicetest"
	"github.com/teamtrack/tracking-core/testsupport"
	"github.com/teamtrack/tracking-redis/redisbroadcast"
)

// The Sentinel and Cluster topologies run the same conformance suite and
// scenarios as a single server, on the servers scripts/test-services.sh
// starts (services redis_sentinel and redis_cluster). Their "broker restart"
// is a failover: the master (of the team's slot, in a cluster) is killed,
// and the replicas must follow the promotion by themselves.

const (
	sentinelHint = "start Redis with Sentinels with scripts/test-services.sh up redis_sentinel and source its env file"
	clusterHint  = "start a Redis Cluster with scripts/test-services.sh up redis_cluster and source its env file"
)

func sentinelConfig(t testing.TB) redisbroadcast.Config {
	return redisbroadcast.Config{
		SentinelAddrs: strings.Split(testsupport.Env(t, "TEST_REDIS_SENTINEL_ADDRS", sentinelHint), ","),
		MasterName:    testsupport.Env(t, "TEST_REDIS_MASTER_NAME", sentinelHint),
		// The test servers ask for passwords, each its own.
		SentinelPassword: testsupport.Env(t, "TEST_REDIS_SENTINEL_PASSWORD", sentinelHint),
		Password:         testsupport.Env(t, "TEST_REDIS_SENTINEL_DATA_PASSWORD", sentinelHint),
	}
}

func clusterConfig(t testing.TB) redisbroadcast.Config {
	return redisbroadcast.Config{ClusterAddrs: strings.Split(testsupport.Env(t, "TEST_REDIS_CLUSTER_ADDRS", clusterHint), ",")}
}

// setupConfig is setupWindow for any topology: base with the test's own
// channel prefix.
func setupConfig(base redisbroadcast.Config, queueSize int, window time.Duration) broadcasttest.Setup {
	return func(t *testing.T) func() tracking.Broadcaster {
		p := prefix(t)
		n := 0
		return func() tracking.Broadcaster {
			cfg := base
			cfg.ChannelPrefix, cfg.QueueSize, cfg.ResumeWindow = p, queueSize, window
			if cfg.Registerer != nil { // replicas share it, told apart by a label
				n++
				cfg.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"replica": fmt.Sprint(n)}, cfg.Registerer)
			}
			if os.Getenv("TEST_REDIS_DEBUG") != "" {
				cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			b, err := redisbroadcast.New(cfg)
			if err != nil {
				t.Fatalf("new broadcaster: %v", err)
			}
			return b
		}
	}
}

// run runs the shell command in the environment variable name and returns
// its output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := os.Getenv(name)
	if cmd == "" {
		testsupport.Missing(t, name+" is not set")
	}
	for _, a := range args {
		cmd += " '" + a + "'"
	}
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return string(out)
}

// failoverSentinel kills the master and, once the Sentinels promoted the
// replica, starts the old master again as a replica (so that the next
// failover has one).
func failoverSentinel(t *testing.T) {
	t.Logf("killed the master: %s", strings.TrimSpace(run(t, "TEST_REDIS_SENTINEL_KILL_MASTER_CMD")))
	t.Cleanup(func() { run(t, "TEST_REDIS_SENTINEL_HEAL_CMD") })
}

// failoverCluster kills the master of team's slot; the cleanup starts it
// again (a replica then).
func failoverCluster(team string) func(t *testing.T) {
	return func(t *testing.T) {
		t.Logf("killed the master of {%s}: %s", team, strings.TrimSpace(run(t, "TEST_REDIS_CLUSTER_KILL_MASTER_CMD", "{"+team+"}")))
		t.Cleanup(func() { run(t, "TEST_REDIS_CLUSTER_HEAL_CMD") })
	}
}

func TestSentinelConformance(t *testing.T) {
	base := sentinelConfig(t)
	const window = time.Second
	features := broadcasttest.Features{RestartBroker: failoverSentinel, Overload: setupConfig(base, 8, 0), QueueSize: 8,
		Windowed: setupConfig(base, 0, window), ResumeWindow: window}
	broadcasttest.Run(t, features, setupConfig(base, 0, 0))
}

func TestSentinelScenarios(t *testing.T) {
	servicetest.Run(t, servicetest.Features{RestartBroker: failoverSentinel}, setupConfig(sentinelConfig(t), 0, 0))
}

func TestClusterConformance(t *testing.T) {
	base := clusterConfig(t)
	const window = time.Second
	features := broadcasttest.Features{RestartBroker: failoverCluster("team_r"), Overload: setupConfig(base, 8, 0), QueueSize: 8,
		Windowed: setupConfig(base, 0, window), ResumeWindow: window}
	broadcasttest.Run(t, features, setupConfig(base, 0, 0))
}

func TestClusterScenarios(t *testing.T) {
	servicetest.Run(t, servicetest.Features{RestartBroker: failoverCluster("team_rs")}, setupConfig(clusterConfig(t), 0, 0))
}

// TestSentinelFailoverUnderLoad kills the master while two replicas publish
// the positions of 20 teams and stream them to managers (each replica
// subscribes half of the teams): every stream resumes without a restart of
// the replicas, and the last known positions (the snapshot) survive. The
// time from the kill to each team's first delivery is logged.
func TestSentinelFailoverUnderLoad(t *testing.T) {
	base := sentinelConfig(t)
	teams := make([]string, 20)
	for i := range teams {
		teams[i] = fmt.Sprintf("team_%02d", i)
	}
	base.Registerer = prometheus.NewRegistry()
	r := broadcasttest.Replicas(t, setupConfig(base, 0, time.Minute), 2)
	failoverUnderLoad(t, r, teams, teams, 20*time.Millisecond, failoverSentinel)
	logPublishErrors(t, base.Registerer)
}

// TestClusterFailoverUnderLoad is TestSentinelFailoverUnderLoad on the
// cluster with 300 teams spread over the three masters; the master of
// team_000's slot is killed.
func TestClusterFailoverUnderLoad(t *testing.T) {
	base := clusterConfig(t)
	teams := make([]string, 300)
	for i := range teams {
		teams[i] = fmt.Sprintf("team_%03d", i)
	}
	byMaster := teamsByMaster(t, base.ClusterAddrs, teams)
	if len(byMaster) != 3 {
		t.Fatalf("300 teams on %d masters, want 3", len(byMaster))
	}
	for addr, ts := range byMaster {
		t.Logf("master %s: %d teams", addr, len(ts))
	}
	base.Registerer = prometheus.NewRegistry()
	r := broadcasttest.Replicas(t, setupConfig(base, 0, time.Minute), 2)
	defer logPublishErrors(t, base.Registerer)
	// The managers watch 60 teams (a fifth of each shard's); all 300 publish.
	var watched []string
	for i, team := range teams {
		if i%5 == 0 {
			watched = append(watched, team)
		}
	}
	failoverUnderLoad(t, r, teams, watched, 100*time.Millisecond, failoverCluster(teams[0]))
}

// teamsByMaster groups teams by the master owning their slot.
func teamsByMaster(t *testing.T, addrs []string, teams []string) map[string][]string {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer func() { _ = cc.Close() }()
	out := map[string][]string{}
	for _, team := range teams {
		m, err := cc.MasterForKey(t.Context(), "{"+team+"}")
		if err != nil {
			t.Fatal(err)
		}
		out[m.Options().Addr] = append(out[m.Options().Addr], team)
	}
	return out
}

// failoverUnderLoad publishes every team's positions through the replicas
// r (alternating) each period, with managers streaming the watched teams,
// and runs failover. Every stream must resume, and the snapshot survive.
// Then each manager catches up through the resume window (Since from the
// last position it had before the failover): what it has then is every
// position published, except those lost in the failover's window, which
// are counted: refused (Publish failed: the worker knows and may send
// again) and acknowledged but lost (written to the old master, not yet
// replicated when it died). A position lost outside the window, from well
// before the kill or after the stream resumed, fails the test.
func failoverUnderLoad(t *testing.T, r []tracking.Broadcaster, teams, watched []string, period time.Duration, failover func(*testing.T)) {
	ctx := t.Context()
	cs := make([]*broadcasttest.Collector, len(watched))
	for i, team := range watched {
		cs[i], _ = broadcasttest.Subscribe(t, ctx, r[i%2], team)
	}
	// The snapshot: a worker that sends once, before the failover.
	for i, team := range teams {
		broadcasttest.MustPublish(t, r[i%2], broadcasttest.Msg(team, "snap", 1))
	}
	// Workers: every team's positions, half through each replica. log
	// keeps when each seq was published and, per team, whether it failed.
	log := &publishLog{refused: map[string]map[int]bool{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			s := log.next()
			for i, team := range teams {
				if err := r[i%2].Publish(ctx, broadcasttest.Msg(team, "w", s)); err != nil {
					log.refuse(team, s) // while Redis fails over
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()
	for i, c := range cs {
		if !c.WaitFor(15*time.Second, func(m []tracking.Message) bool { return hasSeq(m, "w", 1) && hasSeq(m, "snap", 1) }) {
			t.Fatalf("%s: no streaming before the failover", watched[i])
		}
	}
	for _, team := range teams {
		testsupport.Eventually(t, 10*time.Second, "the snapshot of "+team, func() bool {
			return broadcasttest.LastSeqs(t, r[0], team)["snap"] == 1
		})
	}
	// Replication to the replica is asynchronous: let it catch up.
	time.Sleep(500 * time.Millisecond)

	// Each manager's cut: the last position it had before the failover.
	cuts := make([]tracking.Message, len(cs))
	for i, c := range cs {
		msgs := c.Messages()
		cuts[i] = msgs[len(msgs)-1]
	}
	killed := time.Now()
	failover(t)
	after := log.current() + 1
	resumed := make([]time.Duration, len(cs))
	resumedSeq := make([]int, len(cs))
	var wait sync.WaitGroup
	for i, c := range cs {
		wait.Go(func() {
			if c.WaitFor(60*time.Second, func(m []tracking.Message) bool { return hasSeq(m, "w", after) }) {
				resumed[i] = time.Since(killed)
				resumedSeq[i] = log.current()
			}
		})
	}
	wait.Wait()
	for i, d := range resumed {
		if d == 0 {
			t.Errorf("%s: the stream did not resume within 60s of the failover", watched[i])
		}
	}
	if t.Failed() {
		return
	}
	stopLoad()
	sorted := slices.Sorted(slices.Values(resumed))
	t.Logf("streams resumed after the master was killed (failure detection and promotion included): first %s, median %s, last %s",
		sorted[0].Round(time.Millisecond), sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
	for _, b := range r {
		if err := b.Ready(ctx); err != nil {
			t.Fatalf("replica not ready after the streams resumed: %v", err)
		}
	}
	for i, team := range teams {
		if got := broadcasttest.LastSeqs(t, r[(i+1)%2], team); got["snap"] != 1 {
			t.Errorf("Last(%s) after the failover = %v: the snapshot lost worker snap", team, got)
		}
	}

	// The catch-up through the resume window.
	windowStart := log.seqAt(killed.Add(-2 * time.Second))
	last := log.current()
	var refused, ackedLost, caughtUp int
	for i, c := range cs {
		team := watched[i]
		_, cutSeq := broadcasttest.Seq(cuts[i])
		have := map[int]bool{}
		for _, m := range c.Messages() {
			if w, s := broadcasttest.Seq(m); w == "w" {
				have[s] = true
			}
		}
		msgs, _, err := r[i%2].Since(ctx, team, cuts[i].Offset, 100_000)
		if err != nil {
			t.Errorf("%s: Since(the last position before the failover, %+v): %v", team, cuts[i].Offset, err)
			continue
		}
		for _, m := range msgs {
			if w, s := broadcasttest.Seq(m); w == "w" && !have[s] {
				have[s] = true
				caughtUp++
			}
		}
		var outside []int
		for s := cutSeq + 1; s <= last; s++ {
			switch {
			case have[s]:
			case log.refused[team][s]:
				refused++
			default:
				ackedLost++
				if s < windowStart || s > resumedSeq[i] {
					outside = append(outside, s)
				}
			}
		}
		if len(outside) > 0 {
			t.Errorf("%s: acknowledged positions lost outside the failover window (seq %d..%d): %v", team, windowStart, resumedSeq[i], outside)
		}
	}
	t.Logf("failover window, %d watched teams: %d positions refused by Publish, %d lost (not written, or written to the old master and not replicated), %d caught up from the resume window",
		len(watched), refused, ackedLost, caughtUp)
}

// logPublishErrors logs the positions the replicas (registered on reg)
// could not write to Redis, of all teams.
func logPublishErrors(t *testing.T, reg prometheus.Registerer) {
	mfs, err := reg.(prometheus.Gatherer).Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "tracking_redis_publish_errors_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	t.Logf("positions of all teams the replicas could not write to Redis (tracking_redis_publish_errors_total): %.0f", sum)
}

// publishLog records when each seq of the load was published and which
// publishes failed.
type publishLog struct {
	mu      sync.Mutex
	at      []time.Time             // at[s-1]: when seq s was published
	refused map[string]map[int]bool // team -> seq; read only after the load stopped
}

func (l *publishLog) next() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.at = append(l.at, time.Now())
	return len(l.at)
}

func (l *publishLog) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.at)
}

func (l *publishLog) refuse(team string, s int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refused[team] == nil {
		l.refused[team] = map[int]bool{}
	}
	l.refused[team][s] = true
}

// seqAt is the first seq published at or after t.
func (l *publishLog) seqAt(t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := slices.BinarySearchFunc(l.at, t, func(a, b time.Time) int { return a.Compare(b) })
	return i + 1
}

// hasSeq: msgs hold worker's position seq or a later one.
func hasSeq(msgs []tracking.Message, worker string, seq int) bool {
	for _, m := range msgs {
		if w, s := broadcasttest.Seq(m); w == worker && s >= seq {
			return true
		}
	}
	return false
}

// TestClusterIntake: a replica watching some teams of one shard subscribes
// sharded channels on that shard only, while positions of 300 teams spread
// over three masters are published; it receives only its teams' positions,
// and nothing goes through classic (cluster-wide) PUBLISH.
func TestClusterIntake(t *testing.T) {
	base := clusterConfig(t)
	teams := make([]string, 300)
	for i := range teams {
		teams[i] = fmt.Sprintf("team_%03d", i)
	}
	byMaster := teamsByMaster(t, base.ClusterAddrs, teams)
	var shard string
	for addr := range byMaster {
		shard = addr
		break
	}
	watched := byMaster[shard][:5]
	r := broadcasttest.Replicas(t, setupConfig(base, 0, 0), 2)
	cs := make([]*broadcasttest.Collector, len(watched))
	for i, team := range watched {
		cs[i], _ = broadcasttest.Subscribe(t, t.Context(), r[1], team)
	}
	for _, team := range teams {
		broadcasttest.MustPublish(t, r[0], broadcasttest.Msg(team, "w1", 1))
	}
	for i, c := range cs {
		if !c.WaitCount(10*time.Second, 1) {
			t.Fatalf("%s: no delivery", watched[i])
		}
	}
	time.Sleep(200 * time.Millisecond) // let a stray delivery show
	for i, c := range cs {
		for _, m := range c.Messages() {
			if m.Team != watched[i] {
				t.Fatalf("%s received a position of %s", watched[i], m.Team)
			}
		}
	}
	// At the servers: sharded subscriptions of the watched teams on the
	// watched shard only, no classic channels.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: base.ClusterAddrs})
	defer func() { _ = cc.Close() }()
	var mu sync.Mutex
	subs := map[string][]string{}
	err := cc.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error {
		sharded, err := c.PubSubShardChannels(ctx, "*team_*").Result()
		if err != nil {
			return err
		}
		classic, err := c.PubSubChannels(ctx, "*team_*").Result()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		subs[c.Options().Addr] = sharded
		if len(classic) > 0 {
			return fmt.Errorf("classic channels subscribed on %s: %v", c.Options().Addr, classic)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for addr, chans := range subs {
		mine := 0
		for _, ch := range chans {
			if strings.HasPrefix(ch, "T"+strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())) {
				mine++
			}
		}
		switch {
		case addr == shard && mine != len(watched):
			t.Errorf("watched shard %s: %d sharded channels of this test (%v), want %d", addr, mine, chans, len(watched))
		case addr != shard && mine != 0:
			t.Errorf("shard %s holds none of the watched teams but %d sharded channels of this test: %v", addr, mine, chans)
		}
	}
	t.Logf("replica watching %d teams of shard %s: sharded subscriptions per master %v", len(watched), shard, counts(subs))
}

func counts(m map[string][]string) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

// TestSentinelWrongPassword: with a wrong Sentinel password the replica is
// not ready, and says why.
func TestSentinelWrongPassword(t *testing.T) {
	cfg := sentinelConfig(t)
	cfg.SentinelPassword = "not-the-password"
	b, err := redisbroadcast.New(cfg)
	if err != nil {
		t.Logf("New refused: %v", err)
		return
	}
	defer func() { _ = b.Close() }()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = b.Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("Ready with a wrong Sentinel password: %v, want the Sentinels' WRONGPASS", err)
	}
}
