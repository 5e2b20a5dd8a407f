package discovery

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/teamtrack/tracking-core/testsupport"
)

// TestConsulStoppedKeepsLastKnownSet stops the real agent, checks that the
// resolver keeps serving the last known set, then starts it again (a -dev
// agent comes back empty) and checks that the registration is restored and
// the resolver follows it. The grace after an empty answer is off here: with
// it the resolver would serve the same set whether or not it followed the
// agent (the fake-agent tests cover the grace); without it, the set the
// resolver serves once the agent is back is the agent's.
func TestConsulStoppedKeepsLastKnownSet(t *testing.T) {
	addr := testConsulAddr(t)
	stopCmd, startCmd := os.Getenv("TEST_CONSUL_STOP_CMD"), os.Getenv("TEST_CONSUL_START_CMD")
	if stopCmd == "" || startCmd == "" {
		testsupport.Missing(t, "TEST_CONSUL_STOP_CMD / TEST_CONSUL_START_CMD are not set (see scripts/test-services.sh)")
	}
	svc := uniqueName("tt-test-stop")
	inst := newReadyServer(t)
	register(t, RegisterConfig{
		ConsulAddr: addr, Service: svc, Port: inst.port(t), Address: "127.0.0.1",
		CheckInterval: time.Second, ResyncInterval: 300 * time.Millisecond, Logger: testLogger(t),
	})
	rec := &logRecorder{}
	r, err := NewConsul(ConsulConfig{Addr: addr, Services: []string{svc},
		MaxBackoff: 500 * time.Millisecond, EmptyGrace: -1, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := inst.Listener.Addr().String()
	waitInstances(t, r, svc, 15*time.Second, want)

	stopped := true
	runShell(t, stopCmd)
	// Whatever happens below, leave the agent running for the other tests.
	defer func() {
		if stopped {
			runShell(t, startCmd)
		}
	}()
	rec.waitFor(t, "consul unreachable", 10*time.Second)
	if got := addresses(r.Instances(svc)); len(got) != 1 || got[0] != want {
		t.Fatalf("while consul is stopped: %v, want the last known [%s]", got, want)
	}
	if err := r.Ready(); err != nil {
		t.Fatalf("Ready while consul is stopped: %v", err)
	}

	runShell(t, startCmd)
	stopped = false
	rec.waitFor(t, "consul reachable again", 30*time.Second)
	// The agent came back empty: the resolver saw either the empty set or,
	// if the registration was restored first, its instance again.
	waitInstances(t, r, svc, 30*time.Second, want)
}
