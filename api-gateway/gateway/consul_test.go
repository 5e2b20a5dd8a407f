package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"

	"github.com/teamtrack/tracking-core/discovery"
)

// TestThroughRealConsul routes to an instance registered in a real Consul
// agent (TEST_CONSUL_HTTP_ADDR, from scripts/test-services.sh), and answers
// 503 once it deregisters.
func TestThroughRealConsul(t *testing.T) {
	addr := testsupport.Env(t, "TEST_CONSUL_HTTP_ADDR", "run `scripts/test-services.sh up consul` and source its env file")
	var b [4]byte
	_, _ = rand.Read(b[:])
	svc := "tt-test-gw-" + hex.EncodeToString(b[:])

	up := newUpstream(t, "a", nil)
	reg, err := discovery.Register(t.Context(), discovery.RegisterConfig{
		ConsulAddr: addr, Service: svc, Address: "127.0.0.1",
		Port:          up.Listener.Addr().(*net.TCPAddr).Port,
		CheckPath:     "/healthz",
		CheckInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Deregister(context.Background()) }() // best effort: the test is over
	res, err := discovery.NewConsul(discovery.ConsulConfig{Addr: addr, Services: []string{svc}})
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGatewayWith(t, Config{Resolver: res, Services: map[string]string{"redis": svc}})

	testsupport.Eventually(t, 20*time.Second, "the instance to turn healthy", func() bool { return len(res.Instances(svc)) == 1 })
	r, body := g.get(t, "/tracking/redis/team_one/positions")
	if r.StatusCode != 200 || body != "GET /tracking/team_one/positions" {
		t.Fatalf("through consul: %d %q", r.StatusCode, body)
	}
	if r, _ := g.get(t, "/readyz"); r.StatusCode != 200 {
		t.Fatalf("/readyz: %d", r.StatusCode)
	}

	if err := reg.Deregister(t.Context()); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, 20*time.Second, "the instance to leave", func() bool { return len(res.Instances(svc)) == 0 })
	if r, _ := g.get(t, "/tracking/redis/team_one/positions"); r.StatusCode != 503 {
		t.Fatalf("after deregistration: %d, want 503", r.StatusCode)
	}
}
