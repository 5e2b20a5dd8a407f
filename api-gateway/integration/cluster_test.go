package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamtrack/api-gateway/balance"
	"github.com/teamtrack/tracking-core/discovery"
)

// serviceNames are the Consul names the replicas register under and the
// gateway follows (fixed in the binaries).
var serviceNames = map[string]string{
	"redis": "tracking-redis-service",
	"kafka": "tracking-kafka-service",
}

// cluster is one test's platform: replicas of each strategy registered in the
// shared Consul, and the gateway binary following them. Each cluster has its
// own Redis channel prefix and Kafka topics, so its positions never meet
// those of another test on the same servers.
type cluster struct {
	svc      services
	consul   *consul
	id       string // random, in every name this cluster creates
	bin      string
	logDir   string
	replicas map[string][]*proc // by strategy
	gw       *proc

	mu  sync.Mutex
	all []*proc // every process started, for the log dump

	marker               string // Consul KV key that disappears if the agent restarts
	restartsConsulItself bool
}

// startCluster starts nRedis and nKafka replicas and the gateway, with
// replicaEnv added to the environment of each, and returns once Consul lists
// exactly those replicas as healthy and the gateway has learnt them.
func startCluster(t *testing.T, svc services, nRedis, nKafka int, replicaEnv []string) *cluster {
	t.Helper()
	lockConsul(t, svc.consulAddr)
	c := &cluster{
		svc:      svc,
		consul:   newConsul(t, svc.consulAddr),
		id:       randomID(),
		bin:      binDir(t),
		logDir:   t.TempDir(), // first: removed after the log dump below
		replicas: map[string][]*proc{},
	}
	dumpLogsOnFailure(t, c.procs)
	ctx := t.Context()
	if l, err := c.consul.leader(ctx); err != nil || l == "" {
		t.Fatalf("consul at %s does not answer or has no leader", svc.consulAddr)
	}
	c.marker = "teamtrack-gwit/" + c.id
	if err := c.consul.putKey(ctx, c.marker); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.checkMarker(t) })

	type spec struct {
		strategy, name string
		env            []string
	}
	var specs []spec
	common := []string{
		"CONSUL_HTTP_ADDR=" + svc.consulAddr, "ADVERTISE_HOST=127.0.0.1",
		"SHUTDOWN_TIMEOUT=3s", "LOG_LEVEL=info", "POSITION_STALE_AFTER=2m",
	}
	common = append(common, replicaEnv...)
	for i := range nRedis {
		specs = append(specs, spec{"redis", fmt.Sprintf("redis-%d", i), append(slices.Clone(common),
			"REDIS_ADDR="+svc.redisAddr, "REDIS_CHANNEL_PREFIX=GWIT_"+c.id+"_")})
	}
	for i := range nKafka {
		specs = append(specs, spec{"kafka", fmt.Sprintf("kafka-%d", i), append(slices.Clone(common),
			"KAFKA_BROKERS="+svc.kafkaBrokers, "KAFKA_TOPIC=gwit."+c.id+".positions",
			"KAFKA_LAST_TOPIC=gwit."+c.id+".last", "KAFKA_STATE_TOPIC=gwit."+c.id+".states",
			"KAFKA_MAILBOX_TOPIC=gwit."+c.id+".mailbox", "KAFKA_PARTITIONS=3")})
	}
	// All at once (the Kafka ones take a second to set up their topics), then
	// wait for each; one whose port was taken meanwhile starts again.
	ps := make([]*proc, len(specs))
	for i, s := range specs {
		ps[i] = c.launch(t, s.name, "tracking-"+s.strategy, s.env)
	}
	for i, s := range specs {
		ps[i] = c.ready(t, ps[i], func() *proc { return c.launch(t, s.name, "tracking-"+s.strategy, s.env) })
		c.replicas[s.strategy] = append(c.replicas[s.strategy], ps[i])
	}
	// A long grace after Consul comes back empty: on a loaded machine the
	// replicas have taken 22s to register again (the outage test); the grace
	// only applies after a reconnect, so the other tests are not affected.
	gwEnv := append([]string{"CONSUL_HTTP_ADDR=" + svc.consulAddr, "CONSUL_EMPTY_GRACE=60s", "SHUTDOWN_TIMEOUT=2s", "LOG_LEVEL=info"}, replicaEnv...)
	launchGateway := func() *proc {
		p := c.launch(t, "gateway", "api-gateway", gwEnv)
		if nRedis == 0 || nKafka == 0 {
			// A gateway with no instance of a strategy is not ready, by
			// design: wait for it to serve; waitRegistered below waits for
			// it to know the replicas.
			p.readyPath = "/healthz"
		}
		return p
	}
	c.gw = c.ready(t, launchGateway(), launchGateway)
	// Registered after every process: runs before their own cleanups, and
	// stops the gateway first, then the replicas all at once.
	t.Cleanup(func() {
		c.gw.stop(t, 15*time.Second)
		var wg sync.WaitGroup
		for _, p := range c.procs() {
			wg.Go(func() { p.stop(t, 15*time.Second) })
		}
		wg.Wait()
	})
	c.waitRegistered(t, 30*time.Second)
	return c
}

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (c *cluster) procs() []*proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.all)
}

func (c *cluster) launch(t *testing.T, name, bin string, env []string) *proc {
	t.Helper()
	p := startProc(t, c.logDir, name, filepath.Join(c.bin, bin), env)
	c.mu.Lock()
	c.all = append(c.all, p)
	c.mu.Unlock()
	return p
}

// ready waits for p's readiness; when p died because its port was taken
// between picking and listening, it starts it again (twice at most).
func (c *cluster) ready(t *testing.T, p *proc, again func() *proc) *proc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		err := p.waitReady(30 * time.Second)
		if err == nil {
			return p
		}
		b, _ := os.ReadFile(p.logPath)
		if attempt < 3 && p.exited() && strings.Contains(string(b), "address already in use") {
			t.Logf("%s: port %s was taken; starting again", p.name, p.addr)
			p = again()
			continue
		}
		t.Fatal(err)
	}
}

// alive returns the strategy's replicas that still run.
func (c *cluster) alive(strategy string) []*proc {
	var out []*proc
	for _, p := range c.replicas[strategy] {
		if !p.exited() {
			out = append(out, p)
		}
	}
	return out
}

// kill SIGKILLs p (no shutdown, no deregistration) and returns when; its
// Consul registration, which Consul would drop after a minute, is removed at
// the end of the test.
func (c *cluster) kill(t *testing.T, p *proc) time.Time {
	id := p.consulID()
	at := time.Now()
	p.kill()
	t.Cleanup(func() {
		if id != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.consul.deregister(ctx, id)
		}
	})
	return at
}

func addrsOf(ps []*proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.addr
	}
	slices.Sort(out)
	return out
}

// gatewayView is the last set of healthy instances of service the gateway
// logged (its resolver logs each change).
func (c *cluster) gatewayView(service string) []string {
	var last []string
	for _, l := range c.gw.logLines() {
		if l.Msg == "healthy instances" && l.Service == service {
			last = l.addrs()
		}
	}
	slices.Sort(last)
	return last
}

// waitRegistered waits until Consul lists exactly the running replicas of
// each strategy as passing, and the gateway's view is the same. Registrations
// left critical by a replica that is gone (killed by a test, or by a crashed
// earlier run) are removed on the way; a passing instance this cluster did
// not start fails the test, since the gateway would route to it too.
func (c *cluster) waitRegistered(t *testing.T, timeout time.Duration) {
	t.Helper()
	ctx := t.Context()
	deadline := time.Now().Add(timeout)
	removed := map[string]bool{}
	for {
		var problems []string
		var foreign []string
		for _, strategy := range slices.Sorted(maps.Keys(serviceNames)) {
			svcName := serviceNames[strategy]
			want := addrsOf(c.alive(strategy))
			insts, err := c.consul.instances(ctx, svcName)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			var passing []string
			for _, in := range insts {
				mine := slices.Contains(want, in.Address)
				switch {
				case in.Status == "passing":
					passing = append(passing, in.Address)
					if !mine {
						foreign = append(foreign, fmt.Sprintf("%s %s at %s", svcName, in.ID, in.Address))
					}
				case !mine && !removed[in.ID]:
					removed[in.ID] = true
					if err := c.consul.deregister(ctx, in.ID); err == nil {
						t.Logf("removed the %s registration %s (%s) left by a replica that is gone", in.Status, in.ID, in.Address)
					}
				}
			}
			slices.Sort(passing)
			if !slices.Equal(passing, want) {
				problems = append(problems, fmt.Sprintf("consul lists %s passing at %v, want %v", svcName, passing, want))
			}
			if view := c.gatewayView(svcName); !slices.Equal(view, want) {
				problems = append(problems, fmt.Sprintf("the gateway knows %s at %v, want %v", svcName, view, want))
			}
		}
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			msg := strings.Join(problems, "; ")
			if len(foreign) > 0 {
				msg += fmt.Sprintf("\ninstances this test did not start are registered in consul %s: %s. "+
					"The gateway follows these fixed names, so these tests need them to themselves "+
					"(another run of this package, or a platform started with this CONSUL_HTTP_ADDR?)",
					c.svc.consulAddr, strings.Join(foreign, ", "))
			}
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(100 * time.Millisecond) // polling consul and the gateway's log
	}
}

// checkMarker tells, when the test failed, whether the Consul agent lost its
// state meanwhile (another test sharing the agent restarted it), which
// explains failures of routing through Consul; then it removes the marker.
func (c *cluster) checkMarker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := c.consul.keyExists(ctx, c.marker)
	if t.Failed() && !c.restartsConsulItself && err == nil && !ok {
		t.Logf("note: consul %s lost its state during this test (restarted by another test sharing it?)", c.svc.consulAddr)
	}
	if ok {
		_ = c.consul.deleteKey(ctx, c.marker)
	}
}

// gwURL is the gateway's base URL of a strategy's API: http://gw/tracking/redis.
func (c *cluster) gwURL(strategy string) string { return c.gw.url() + "/tracking/" + strategy }

// gwWS is the same as a ws:// URL.
func (c *cluster) gwWS(strategy string) string { return "ws://" + c.gw.addr + "/tracking/" + strategy }

// teamOwnedBy returns a new team name (with tag in it) whose streams the
// gateway sends to owner among insts: the gateway picks a team's instance by
// rendezvous hashing of the team over the healthy instances' addresses.
func (c *cluster) teamOwnedBy(t *testing.T, tag string, owner *proc, insts []*proc) string {
	t.Helper()
	set := make([]discovery.Instance, len(insts))
	for i, p := range insts {
		set[i] = discovery.Instance{ID: p.name, Address: p.addr}
	}
	for k := range 10000 {
		team := fmt.Sprintf("gwit-%s-%s-%d", c.id, tag, k)
		if balance.Rendezvous(team, set, nil)[0].Address == owner.addr {
			return team
		}
	}
	t.Fatalf("no team owned by %s", owner.addr)
	return ""
}
