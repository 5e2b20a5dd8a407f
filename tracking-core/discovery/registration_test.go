package discovery

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/hashicorp/consul/api"
)

func TestRegisterConfigDefaults(t *testing.T) {
	c := RegisterConfig{ConsulAddr: "127.0.0.1:8500", Service: "tracking-redis-service", Port: 8081}
	if err := c.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if c.Address != "127.0.0.1" || c.CheckPath != "/readyz" || c.CheckInterval != 5*time.Second ||
		c.DeregisterAfter != time.Minute || c.Logger == nil {
		t.Fatalf("defaults: %+v", c)
	}
	if !strings.HasPrefix(c.ID, "tracking-redis-service-") || !strings.Contains(c.ID, "-8081-") {
		t.Fatalf("default ID %q", c.ID)
	}
	other := RegisterConfig{ConsulAddr: "127.0.0.1:8500", Service: "tracking-redis-service", Port: 8081}
	_ = other.setDefaults()
	if other.ID == c.ID {
		t.Fatalf("two default IDs are equal: %q", c.ID)
	}
	for _, bad := range []RegisterConfig{
		{Service: "s", Port: 1},
		{ConsulAddr: "a:1", Port: 1},
		{ConsulAddr: "a:1", Service: "s"},
	} {
		if err := bad.setDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestDefaultAddress(t *testing.T) {
	for _, a := range []string{"127.0.0.1:8500", "localhost:8500", "http://127.0.0.1:8500", "[::1]:8500"} {
		if got := defaultAddress(a); got != "127.0.0.1" {
			t.Errorf("defaultAddress(%q) = %q, want 127.0.0.1", a, got)
		}
	}
	if got := defaultAddress("consul:8500"); got == "127.0.0.1" || got == "" {
		t.Errorf("defaultAddress(consul:8500) = %q, want the hostname", got)
	}
}

// register registers cfg, failing the test on an error (Register then
// retries in the background, never fails on an unreachable agent), and
// deregisters it, best effort, when the test is over.
func register(t *testing.T, cfg RegisterConfig) *Registration {
	t.Helper()
	reg, err := Register(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Register failed although it should retry in the background: %v", err)
	}
	t.Cleanup(func() { _ = reg.Deregister(context.Background()) })
	return reg
}

// rawClient is a plain Consul client for the tests' own checks.
func rawClient(t *testing.T, addr string) *api.Client {
	t.Helper()
	c, err := newConsulClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c.Client
}

func agentHas(t *testing.T, c *api.Client, id string) bool {
	t.Helper()
	_, _, err := c.Agent().Service(id, nil)
	if err != nil && !isNotFound(err) {
		t.Fatalf("agent service %s: %v", id, err)
	}
	return err == nil
}

func TestRegisterResolveDeregister(t *testing.T) {
	addr := testConsulAddr(t)
	svc := uniqueName("tt-test-reg")
	inst := newReadyServer(t)
	reg := register(t, RegisterConfig{
		ConsulAddr: addr, Service: svc, Port: inst.port(t), Address: "127.0.0.1",
		CheckInterval: time.Second, ResyncInterval: 200 * time.Millisecond, Logger: testLogger(t),
	})
	if !strings.HasPrefix(reg.ID(), svc+"-") {
		t.Fatalf("ID %q", reg.ID())
	}

	r, err := NewConsul(ConsulConfig{Addr: addr, Services: []string{svc}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := inst.Listener.Addr().String()
	waitInstances(t, r, svc, 15*time.Second, want)
	if got := r.Instances(svc)[0].ID; got != reg.ID() {
		t.Fatalf("instance ID %q, want %q", got, reg.ID())
	}

	// Failing readiness takes it out of the healthy set, passing brings it back.
	inst.ready.Store(false)
	waitInstances(t, r, svc, 15*time.Second)
	inst.ready.Store(true)
	waitInstances(t, r, svc, 15*time.Second, want)

	if err := reg.Deregister(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := reg.Deregister(t.Context()); err != nil {
		t.Fatalf("second Deregister: %v", err)
	}
	waitInstances(t, r, svc, 15*time.Second)
	if agentHas(t, rawClient(t, addr), reg.ID()) {
		t.Fatal("agent still holds the service after Deregister")
	}
}

func TestRegisterRestoresLostRegistration(t *testing.T) {
	addr := testConsulAddr(t)
	svc := uniqueName("tt-test-lost")
	inst := newReadyServer(t)
	rec := &logRecorder{}
	reg := register(t, RegisterConfig{
		ConsulAddr: addr, Service: svc, Port: inst.port(t),
		ResyncInterval: 200 * time.Millisecond, Logger: slog.New(rec),
	})
	c := rawClient(t, addr)
	testsupport.Eventually(t, 5*time.Second, "registration", func() bool { return agentHas(t, c, reg.ID()) })

	// What an agent restart looks like from here: the service is gone.
	if err := c.Agent().ServiceDeregister(reg.ID()); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "lost the registration", 5*time.Second)
	testsupport.Eventually(t, 5*time.Second, "registration restored", func() bool { return agentHas(t, c, reg.ID()) })
}

func TestRegisterRetriesWhileConsulUnreachable(t *testing.T) {
	consulAddr := testConsulAddr(t)
	svc := uniqueName("tt-test-retry")
	inst := newReadyServer(t)
	// The agent is reached through a forwarder that is not listening yet.
	fwdAddr := testsupport.FreeAddr(t)
	rec := &logRecorder{}
	reg := register(t, RegisterConfig{
		ConsulAddr: fwdAddr, Service: svc, Port: inst.port(t), Address: "127.0.0.1",
		ResyncInterval: 300 * time.Millisecond, Logger: slog.New(rec),
	})
	rec.waitFor(t, "retrying in the background", 5*time.Second)
	c := rawClient(t, consulAddr)
	if agentHas(t, c, reg.ID()) {
		t.Fatal("registered through a closed port")
	}

	startForwarder(t, fwdAddr, consulAddr)
	testsupport.Eventually(t, 10*time.Second, "registration after consul became reachable",
		func() bool { return agentHas(t, c, reg.ID()) })
	if err := reg.Deregister(t.Context()); err != nil {
		t.Fatal(err)
	}
	if agentHas(t, c, reg.ID()) {
		t.Fatal("agent still holds the service after Deregister")
	}
}

func TestDeregisterWhileUnreachableReturnsError(t *testing.T) {
	reg, err := Register(t.Context(), RegisterConfig{
		ConsulAddr: testsupport.FreeAddr(t), Service: "tt-test-unreachable", Port: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := reg.Deregister(ctx); err == nil {
		t.Fatal("Deregister with no agent returned nil")
	}
	if err2 := reg.Deregister(ctx); err2 == nil {
		t.Fatal("second Deregister forgot the first one's error")
	}
}
